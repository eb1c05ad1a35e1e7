"""Payments to the one social-security card (issue 13): cards, the departments' payment rosters checked
line by line, batches and bank files, the bank's results, notices.

Money is integer fen everywhere (``money``); card, account and ID numbers leave the registry masked
(``masking``) except in the bank file that needs them. The tables are in ``registry.schema`` (migration
0014); the flow and the file formats are in the README's "Payments" section.
"""
