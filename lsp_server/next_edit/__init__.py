"""Next-edit suggestions: recent edits (history.py), the prediction (predict.py), one request (service.py)."""
