"""Warm handover tickets: the tables (models.py), opening a ticket and its packet
(tickets.py), what a resident may see and erase of them (regie.py), how long they are kept
(retention.py), the audit trail (audit.py) and the inbox settings they follow (settings.py).
The bot's actions open tickets here; the staff inbox (inbox/) works on them."""
