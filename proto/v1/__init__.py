"""proto/v1"""
