"""A fake of the Shopify Admin REST API: ``X-Shopify-Access-Token``, versioned paths,
``{"errors": …}`` errors and 429 with a decimal ``Retry-After``."""

from __future__ import annotations

import re

from tests.fakes.vendors.base import FakeResponse, FakeVendorServer, RecordedRequest, json_response

DEFAULT_TOKEN = "shpat_fakeShopifyAccessToken0123456789"
API_VERSION = "2024-10"


class FakeShopify(FakeVendorServer):
    base_path = f"/admin/api/{API_VERSION}"

    def __init__(self, token: str = DEFAULT_TOKEN, shop: str = "acme") -> None:
        super().__init__()
        self.token = token
        self.shop = shop
        self.products: dict[int, dict] = {
            632910392: {"id": 632910392, "title": "IPod Nano - 8GB", "status": "active"}
        }
        self.orders = [{"id": 450789469, "name": "#1001", "financial_status": "paid", "status": "open"}]
        self.route("GET", r"/shop\.json", self._shop)
        self.route("GET", r"/products\.json", self._list_products)
        self.route("POST", r"/products\.json", self._create_product)
        self.route("GET", r"/products/(\d+)\.json", self._get_product)
        self.route("GET", r"/orders\.json", self._orders)

    def throttled(self, retry_after: str = "2.0") -> FakeResponse:
        return json_response(
            429,
            {
                "errors": "Exceeded 2 calls per second for api client. "
                "Reduce request rates to resume uninterrupted service."
            },
            {"Retry-After": retry_after},
        )

    def answer(self, request: RecordedRequest) -> FakeResponse:
        if request.headers.get("x-shopify-access-token") != self.token:
            return json_response(
                401,
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
            )
        return super().answer(request)

    def not_found(self, request: RecordedRequest, *, method_not_allowed: bool = False) -> FakeResponse:
        return json_response(404, {"errors": "Not Found"})

    def _shop(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        return json_response(
            200,
            {
                "shop": {
                    "id": 548380009,
                    "name": "Acme",
                    "myshopify_domain": f"{self.shop}.myshopify.com",
                    "currency": "USD",
                }
            },
        )

    def _list_products(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        limit = int(request.arg("limit", "50"))
        if limit > 250:
            return json_response(400, {"errors": {"limit": ["must be less than or equal to 250"]}})
        return json_response(200, {"products": list(self.products.values())[:limit]})

    def _get_product(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        product = self.products.get(int(match.group(1)))
        return json_response(200, {"product": product}) if product else self.not_found(request)

    def _create_product(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        product = (request.json() or {}).get("product") or {}
        if not product.get("title"):
            return json_response(422, {"errors": {"title": ["can't be blank"]}})
        new_id = max(self.products) + 1
        created = {"id": new_id, "status": "active", **product}
        self.products[new_id] = created
        return json_response(201, {"product": created})

    def _orders(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        return json_response(200, {"orders": self.orders})
