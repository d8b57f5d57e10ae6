"""Test harness: an Odoo server on a free local port, RPC clients, and a browser tour runner."""
