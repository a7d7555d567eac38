def main():
    import sys
    from sottovoce.edge import __doc__ as d
    print("ok", d, sys.argv)
