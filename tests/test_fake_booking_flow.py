"""Booking to payment, end to end, as a public booking client runs it against the live API.

``book_and_pay`` follows the public web-booking backend's flow step for step (its paths,
bodies and field names, written here in Python): search availability at the website's
rates, create the guest's contact, book on the contact's sales account holding the unit
for an hour, move the stay to PENDING, read the booking's invoices and post them, pay by
card with ``lastFour`` and ``cardType``, then confirm. Nothing in it knows the fake.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

import requests

from requests_resharmonics import ResharmonicsAuth
from requests_resharmonics.testing import FakeResharmonics


class Api:
    """The client's request helper: JSON in and out, an error with the service's message."""

    def __init__(self, base: str, auth: ResharmonicsAuth) -> None:
        self.base, self.auth = base, auth

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = requests.request(method, self.base + path, json=body, params=params,
                                    auth=self.auth, timeout=30)  # fmt: skip
        if response.status_code >= 400:
            raise RuntimeError(f"{response.status_code}: {response.json().get('message')}")
        return response.json()


def card_type(number: str) -> str:
    """The client's reading of a card number's brand."""
    if number.startswith("4"):
        return "VISA_CREDIT"
    if number[:2] in ("51", "52", "53", "54", "55"):
        return "MASTERCARD"
    if number[:2] in ("34", "37"):
        return "AMERICAN_EXPRESS"
    return "VISA_CREDIT"


def search(api: Api, start: datetime.date, end: datetime.date, guests: int) -> list[Any]:
    """Offers at the website's own rates (the client asks for each WEB rate code)."""
    today = datetime.date.today().isoformat()
    rates = api.call("GET", "/api/v3/rates", dateFrom=today, dateTo=today, size=500)["content"]
    codes = sorted({rate["rateCode"] for rate in rates if rate["rateCode"].endswith("-WEB")})
    offers = []
    for code in codes:
        found = api.call("GET", "/api/v3/availabilities", dateFrom=start.isoformat(),
                         dateTo=end.isoformat(), guests=guests, inventoryType="UNIT_TYPE",
                         rateCode=code)  # fmt: skip
        offers.extend(found["content"])
    return offers


def book_and_pay(
    api: Api,
    guest: dict[str, str],
    offer: dict[str, Any],
    start: datetime.date,
    end: datetime.date,
    card: str,
) -> dict[str, Any]:
    """Contact, booking, PENDING, invoices posted, card payment, CONFIRMED."""
    contact = api.call("POST", "/api/v3/contacts", {
        "firstName": guest["firstName"], "lastName": guest["lastName"],
        "primaryContactEmailAddress": {"email": guest["email"], "primary": True},
        "primaryContactTelephoneNumber": {"number": guest["phone"], "primary": True},
        "type": "GUEST", "source": "ONLINE_BOOKING", "status": "ACTIVE",
        "lifecycleStage": "LEAD", "marketingOptOut": False, "preferredContactMethod": "EMAIL",
        "contactSalesAccount": {"contact": {"firstName": guest["firstName"],
                                            "lastName": guest["lastName"]}},
    })  # fmt: skip
    account = (contact.get("contactSalesAccount") or {}).get("id") or 1
    rate = offer["rateAvailabilities"][0]
    booking = api.call("POST", "/api/v3/bookings", {
        "bookingContactId": contact["id"], "billingContactId": contact["id"],
        "bookingFinanceAccountId": account, "billingFinanceAccountId": account,
        "billingFrequencyId": 1, "bookingTypeId": 1, "channelId": 1,
        "customerReference": f"WEB-{int(time.time() * 1000)}",
        "notes": f"Web booking for {guest['firstName']} {guest['lastName']}",
        "reserveForMinutes": 60,
        "roomStays": [{
            "startDate": start.isoformat(), "endDate": end.isoformat(),
            "inventoryType": "UNIT_TYPE", "inventoryTypeId": offer["inventoryTypeId"],
            "rateId": rate["rateId"], "numberOfAdults": 2, "numberOfChildren": 0,
            "numberOfInfants": 0, "guestIds": [contact["id"]],
            "externalNotes": f"Web booking for {guest['firstName']} {guest['lastName']}",
        }],
    })  # fmt: skip
    stays = (
        booking.get("roomStays")
        or api.call("GET", f"/api/v3/bookings/{booking['id']}")["roomStays"]
    )
    stay = stays[0].get("roomStayId") or stays[0]["id"]
    path = f"/api/v3/bookings/{booking['id']}/updateStatuses"
    api.call("PUT", path, {"statusUpdates": [{"roomStayId": stay, "status": "PENDING"}]})
    invoices = api.call("GET", f"/api/v3/bookings/{booking['id']}/salesInvoices")["content"]
    for invoice in invoices:
        if invoice["status"] != "POSTED":
            api.call("PUT", f"/api/v3/salesInvoices/{invoice['id']}/post")
    amount = round(sum(invoice["gross"] for invoice in invoices), 2)
    payment = api.call(
        "POST",
        f"/api/v3/bookings/{booking['id']}/payments",
        {"paymentReference": f"PAY-{int(time.time() * 1000)}", "paymentType": "CARD_PAYMENT",
         "amount": amount, "lastFour": card[-4:], "cardType": card_type(card)},
        user="web",
    )  # fmt: skip
    api.call("PUT", path, {"statusUpdates": [{"roomStayId": stay, "status": "CONFIRMED"}]})
    return {"booking": booking, "contact": contact, "stay": stay, "invoices": invoices,
            "payment": payment, "amount": amount}  # fmt: skip


def test_a_new_guest_books_and_pays_by_card_end_to_end(
    fake_resharmonics: FakeResharmonics,
) -> None:
    api = Api(fake_resharmonics.base_url, fake_resharmonics.auth())
    start = fake_resharmonics.portfolio.today + datetime.timedelta(days=21)
    end = start + datetime.timedelta(days=4)
    offers = search(api, start, end, guests=2)
    assert offers, "the website's rates have a unit free in three weeks"
    guest = {"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.com",
             "phone": "+44 7700 900123"}  # fmt: skip
    done = book_and_pay(api, guest, offers[0], start, end, card="4242 4242 4242 4242")
    booking, stay = done["booking"], done["stay"]

    # The stay is confirmed and holds its unit; the guest is its guest.
    detail = api.call("GET", f"/api/v3/roomStays/{stay}")
    assert detail["roomStayStatus"] == "CONFIRMED"
    intervals = api.call(
        "GET", f"/api/v3/availabilities/unit/{detail['unit']['id']}/intervals",
        dateFrom=start.isoformat(), dateTo=(end - datetime.timedelta(days=1)).isoformat(),
    )["content"]  # fmt: skip
    assert [interval["available"] for interval in intervals] == [False]
    guests = api.call("GET", f"/api/v3/roomStays/{stay}/guests")["content"]
    assert [row["id"] for row in guests] == [done["contact"]["id"]]

    # The invoice raised when the stay was taken charges its nights and is settled everywhere.
    (raised,) = done["invoices"]
    assert done["amount"] == round(detail_total(api, stay), 2) > 0
    everywhere = [
        api.call("GET", f"/api/v3/salesInvoices/{raised['id']}"),
        *api.call("GET", "/api/v3/salesInvoices", bookingId=booking["id"])["content"],
        *api.call("GET", f"/api/v3/bookings/{booking['id']}/salesInvoices")["content"],
    ]
    for invoice in everywhere:
        assert (invoice["id"], invoice["status"], invoice["outstanding"]) == (
            raised["id"], "POSTED", 0)  # fmt: skip
    waiting = api.call("GET", "/api/v3/salesInvoices", exported="false", bookingId=booking["id"])
    assert [row["id"] for row in waiting["content"]] == [raised["id"]]  # for the accounts sync
    (record,) = done["payment"]["content"]
    assert (record["creditCardType"], record["amount"]) == ("VISA_CREDIT", done["amount"])
    payments = api.call("GET", f"/api/v3/bookings/{booking['id']}/payments")["content"]
    assert payments == done["payment"]["content"]
    # Nothing more is owed: a second payment is refused.
    again = requests.post(
        fake_resharmonics.base_url + f"/api/v3/bookings/{booking['id']}/payments",
        params={"user": "web"},
        json={"paymentReference": "PAY-2", "paymentType": "CARD_PAYMENT", "amount": 1,
              "lastFour": "4242", "cardType": "VISA_CREDIT"},
        auth=api.auth, timeout=30,
    )  # fmt: skip
    assert again.status_code == 400 and "exceeds" in again.json()["message"]


def detail_total(api: Api, stay: int) -> float:
    """What the stay's nights come to, net and VAT, from the room-stay record."""
    (row,) = [
        row
        for row in api.call("GET", "/api/v3/roomStays", statuses="CONFIRMED", size=2000)["content"]
        if row["roomStayId"] == stay
    ]
    return float(row["netAmount"] + row["vatAmount"])


def test_a_long_stay_is_invoiced_a_month_at_a_time(fake_resharmonics: FakeResharmonics) -> None:
    portfolio = fake_resharmonics.portfolio
    api = Api(fake_resharmonics.base_url, fake_resharmonics.auth())
    start = portfolio.today.replace(day=1) + datetime.timedelta(days=400)
    end = start + datetime.timedelta(days=45)  # into the next month
    unit = min(key for key, unit in portfolio.units.items() if unit.bookable)
    rate = portfolio.rate_for(portfolio.units[unit].unit_type_id, 45)
    contact = api.call("POST", "/api/v3/contacts", {"firstName": "Alan", "lastName": "Turing"})
    account = contact["contactSalesAccount"]["id"]
    booking = api.call("POST", "/api/v3/bookings", {
        "channelId": 1, "bookingTypeId": 1, "billingFrequencyId": 1,
        "bookingContactId": contact["id"], "bookingFinanceAccountId": account,
        "billingFinanceAccountId": account,
        "roomStays": [{"rateId": rate.id, "unitId": unit, "startDate": start.isoformat(),
                       "endDate": end.isoformat()}],
    })  # fmt: skip
    stay = booking["roomStays"][0]["id"]
    path = f"/api/v3/bookings/{booking['id']}/updateStatuses"
    api.call("PUT", path, {"statusUpdates": [{"roomStayId": stay, "status": "CONFIRMED"}]})
    (invoice,) = api.call("GET", f"/api/v3/bookings/{booking['id']}/salesInvoices")["content"]
    items = api.call("GET", f"/api/v3/salesInvoices/{invoice['id']}/salesInvoiceItems",
                     size=100)["content"]  # fmt: skip
    days_in_month = (start.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - start
    assert len(items) == days_in_month.days  # the first month only
    assert invoice["status"] == "DRAFT" and invoice["outstanding"] == invoice["gross"]
    api.call("PUT", path, {"statusUpdates": [{"roomStayId": stay, "status": "CONFIRMED"}]})
    assert len(api.call("GET", f"/api/v3/bookings/{booking['id']}/salesInvoices")["content"]) == 1
