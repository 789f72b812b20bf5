"""A fake of the Stripe API: secret key via Basic (or bearer), form-encoded bodies,
``{"error": {"type", "message", …}}`` errors and idempotent POST replay."""

from __future__ import annotations

import base64
import re
import threading

from tests.fakes.vendors.base import FakeResponse, FakeVendorServer, RecordedRequest, json_response

DEFAULT_SECRET_KEY = "sk_test_51FakeStripeSecretKey0123456789"


def stripe_error(status: int, type_: str, message: str, **extra: str) -> FakeResponse:
    return json_response(
        status, {"error": {"type": type_, "message": message, **extra}}, {"Request-Id": "req_fake"}
    )


def _nested(form: dict[str, str]) -> dict:
    """Read Stripe's ``metadata[key]=value`` bracket encoding back into objects."""
    out: dict = {}
    for key, value in form.items():
        parts = re.findall(r"[^\[\]]+", key)
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


class FakeStripe(FakeVendorServer):
    def __init__(self, secret_key: str = DEFAULT_SECRET_KEY) -> None:
        super().__init__()
        self.secret_key = secret_key
        self.customers: dict[str, dict] = {}
        self._idempotent: dict[str, tuple[bytes, FakeResponse]] = {}
        self._idem_lock = threading.Lock()
        self.route("GET", r"/v1/balance", self._balance)
        self.route("POST", r"/v1/customers", self._create_customer)
        self.route("GET", r"/v1/customers", self._list_customers)
        self.route("GET", r"/v1/customers/([^/]+)", self._get_customer)
        self.route("POST", r"/v1/payment_intents", self._create_intent)

    def _key_from(self, request: RecordedRequest) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme == "Basic":
            return base64.b64decode(value).decode().partition(":")[0]
        if scheme == "Bearer":
            return value
        return None

    def answer(self, request: RecordedRequest) -> FakeResponse:
        key = self._key_from(request)
        if key is None:
            return stripe_error(401, "invalid_request_error", "You did not provide an API key.")
        if key != self.secret_key:
            return stripe_error(
                401, "invalid_request_error", f"Invalid API Key provided: {key[:8]}{'*' * 8}{key[-4:]}"
            )
        if request.method == "POST":
            if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                return stripe_error(
                    400, "invalid_request_error", "Invalid request: use application/x-www-form-urlencoded."
                )
            idem = request.headers.get("idempotency-key")
            if idem:
                return self._idempotent_answer(idem, request)
        return super().answer(request)

    def _idempotent_answer(self, key: str, request: RecordedRequest) -> FakeResponse:
        with self._idem_lock:
            if key in self._idempotent:
                body, response = self._idempotent[key]
                if body != request.body:
                    return stripe_error(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with.",
                    )
                response.headers["Idempotent-Replayed"] = "true"
                return response
            response = super().answer(request)
            self._idempotent[key] = (request.body, response)
            return response

    def not_found(self, request: RecordedRequest, *, method_not_allowed: bool = False) -> FakeResponse:
        return stripe_error(
            404, "invalid_request_error", f"Unrecognized request URL ({request.method}: {request.path})."
        )

    def _balance(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        return json_response(
            200,
            {
                "object": "balance",
                "available": [{"amount": 1200, "currency": "usd", "source_types": {"card": 1200}}],
                "pending": [{"amount": 0, "currency": "usd"}],
                "livemode": False,
            },
        )

    def _create_customer(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        params = _nested(request.form())
        customer_id = f"cus_Fake{len(self.customers) + 1:04d}"
        customer = {
            "id": customer_id,
            "object": "customer",
            "email": params.get("email"),
            "name": params.get("name"),
            "description": params.get("description"),
            "metadata": params.get("metadata", {}),
            "livemode": False,
        }
        self.customers[customer_id] = customer
        return json_response(200, customer)

    def _list_customers(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        email = request.arg("email")
        limit = int(request.arg("limit", "10"))
        data = [c for c in self.customers.values() if email is None or c["email"] == email]
        return json_response(
            200,
            {"object": "list", "data": data[:limit], "has_more": len(data) > limit, "url": "/v1/customers"},
        )

    def _get_customer(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        customer = self.customers.get(match.group(1))
        if customer is None:
            return stripe_error(
                404,
                "invalid_request_error",
                f"No such customer: '{match.group(1)}'",
                code="resource_missing",
                param="id",
            )
        return json_response(200, customer)

    def _create_intent(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        params = _nested(request.form())
        for name in ("amount", "currency"):
            if name not in params:
                return stripe_error(
                    400,
                    "invalid_request_error",
                    f"Missing required param: {name}.",
                    code="parameter_missing",
                    param=name,
                )
        if params.get("confirm") == "true" and params.get("payment_method") == "pm_card_chargeDeclined":
            return stripe_error(
                402,
                "card_error",
                "Your card was declined.",
                code="card_declined",
                decline_code="generic_decline",
            )
        return json_response(
            200,
            {
                "id": "pi_Fake0001",
                "object": "payment_intent",
                "amount": int(params["amount"]),
                "currency": params["currency"],
                "customer": params.get("customer"),
                "metadata": params.get("metadata", {}),
                "status": "requires_payment_method",
                "client_secret": "pi_Fake0001_secret_fakeClientSecret",
            },
        )
