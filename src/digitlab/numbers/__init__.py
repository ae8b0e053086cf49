"""Handwritten numbers: several digits in one picture (a year, an amount, a phone number).

layout finds the digit candidates, line by line; read classifies them with the digit model and
the digit check, cutting touching digits where the classifier is surest.
"""
