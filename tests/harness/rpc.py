"""JSON-RPC and XML-RPC clients, as an external storefront talks to Odoo."""

import itertools
import xmlrpc.client

import requests


class RpcError(Exception):
    """An error Odoo returned over RPC; ``data`` holds Odoo's error payload."""

    def __init__(self, message, data=None):
        super().__init__(message)
        self.data = data or {}


class JsonRpc:
    """Odoo's ``/jsonrpc`` endpoint: ``common.authenticate`` then ``object.execute_kw``."""

    _ids = itertools.count(1)

    def __init__(self, url, db, login, password, timeout=120):
        self.url, self.db, self.password, self.timeout = url.rstrip("/"), db, password, timeout
        self.uid = self.call("common", "authenticate", db, login, password, {})
        if not self.uid:
            raise RpcError(f"login {login!r} refused by {url}")

    def call(self, service, method, *args):
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": next(self._ids),
            "params": {"service": service, "method": method, "args": list(args)},
        }
        response = requests.post(f"{self.url}/jsonrpc", json=payload, timeout=self.timeout)
        response.raise_for_status()
        body = response.json()
        if body.get("error"):
            error = body["error"]
            message = (error.get("data") or {}).get("message") or error.get("message")
            raise RpcError(message, error.get("data"))
        return body["result"]

    def execute(self, model, method, *args, **kwargs):
        return self.call("object", "execute_kw", self.db, self.uid, self.password, model, method, list(args), kwargs)


class XmlRpc:
    """Odoo's ``/xmlrpc/2`` endpoints, for clients that only speak XML-RPC."""

    def __init__(self, url, db, login, password):
        self.db, self.password = db, password
        common = xmlrpc.client.ServerProxy(f"{url.rstrip('/')}/xmlrpc/2/common", allow_none=True)
        self.uid = common.authenticate(db, login, password, {})
        if not self.uid:
            raise RpcError(f"login {login!r} refused by {url}")
        self.models = xmlrpc.client.ServerProxy(f"{url.rstrip('/')}/xmlrpc/2/object", allow_none=True)

    def execute(self, model, method, *args, **kwargs):
        return self.models.execute_kw(self.db, self.uid, self.password, model, method, list(args), kwargs)
