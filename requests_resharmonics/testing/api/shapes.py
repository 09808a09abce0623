"""How the API writes each record: the one place that knows the API's field names.

Each function names where its shape is known from (RESHARMONICS.md's labels): *doc* (the
published API description), *live* (public code run against production), *client* (a public
client, unconfirmed) or *guess* (nothing known; chosen as a Spring service would write it).
"""

from __future__ import annotations

import datetime
from typing import Any

from .._portfolio import Portfolio
from .._records import Contact, GuestStay, RatePlan, RoomStay, Unit, UnitType

Json = dict[str, Any]


def _day(value: datetime.date) -> str:
    return value.isoformat()


def contact_ref(contact: Contact) -> Json:
    """``bookingContact`` on room-stay records (doc)."""
    return {
        "id": contact.id,
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "emailAddress": contact.email,
    }


def room_stay_row(portfolio: Portfolio, stay: RoomStay) -> Json:
    """Return the room-stay record every list of room stays answers with, the same in each.

    ``GET /api/v3/bookings`` (one row per room stay), ``GET /api/v3/roomStays``,
    ``GET /api/v3/bookings/{id}/roomStays`` and the answer of ``updateStatuses`` all render
    a stay through this one function. The fields are those the operations table lists for
    the three lists (doc), with ``bookingReference``, ``customerReference``,
    ``roomStayStatus`` and ``bookingContact`` (doc, live) and ``unit.unitTypeName`` (live, on
    booking rows); that every list carries all of them is a guess.
    """
    booking = portfolio.bookings[stay.booking_id]
    organisation = portfolio.organisations[booking.organisation_id]
    account = portfolio.accounts.get(booking.booking_account_id or 0)
    unit = portfolio.units[stay.unit_id]
    return {
        "organisationSettingsName": organisation.name,
        "organisationSettingsId": organisation.id,
        "roomStayId": stay.id,
        "roomStayStatus": stay.status,
        "unit": {
            **_unit_ref(portfolio, unit),
            "unitTypeName": portfolio.unit_types[unit.unit_type_id].name,
        },
        "startDate": _day(stay.start),
        "endDate": _day(stay.end),
        "netAmount": stay.net_amount,
        "vatAmount": stay.vat_amount,
        "bookingId": booking.id,
        "bookingReference": booking.reference,
        "customerReference": booking.customer_reference,
        "channelId": booking.channel_id,
        "channelName": portfolio.channels[booking.channel_id].name,
        "otaReference": booking.ota_reference,
        "bookingAccount": _account(portfolio, account.id) if account else None,
        "bookingContact": contact_ref(portfolio.contacts[booking.contact_id]),
    }


def room_stay_detail(portfolio: Portfolio, stay: RoomStay) -> Json:
    """``GET /api/v3/roomStays/{id}`` (doc)."""
    plan = portfolio.rate_plans[stay.rate_id]
    booking = portfolio.bookings[stay.booking_id]
    return {
        "id": stay.id,
        "rate": {
            "id": plan.id,
            "rateCode": plan.code,
            "rateType": plan.rate_type,
            "name": plan.name,
        },
        "startDate": _day(stay.start),
        "endDate": _day(stay.end),
        "estimatedArrivalTime": _local_time(stay.arrival_time),
        "estimatedDepartureTime": _local_time(stay.departure_time),
        "earlyCheckIn": stay.early_check_in,
        "lateCheckOut": stay.late_check_out,
        "externalNotes": stay.external_notes,
        "opsInformation": stay.ops_information,
        "additionalAccessInformation": None,
        "booking": {"id": booking.id, "bookingReference": booking.reference},
        "roomStayStatus": stay.status,
        "unit": _unit_ref(portfolio, portfolio.units[stay.unit_id]),
        "locked": stay.locked,
    }


def guest_stay_row(portfolio: Portfolio, guest: GuestStay) -> Json:
    """Return a row of ``GET /api/v3/guestStays``: flat, with ids (doc)."""
    stay = portfolio.room_stays[guest.room_stay_id]
    return {
        "id": guest.id,
        "dateFrom": _day(stay.start),
        "dateTo": _day(stay.end),
        "roomStayId": stay.id,
        "contactId": guest.contact_id,
        "unitId": stay.unit_id,
        "status": stay.status,
    }


def guest_stay_detail(portfolio: Portfolio, guest: GuestStay) -> Json:
    """Return ``GET /api/v3/guestStays/{id}``: it nests contact and room stay (doc).

    Their inner fields are the description's, and ``unit`` and ``emailAddress`` a guess;
    ``numberOfAdults`` counts the stay's guests (the fake has no children or infants).
    """
    stay = portfolio.room_stays[guest.room_stay_id]
    return {
        "id": guest.id,
        "dateFrom": _day(stay.start),
        "dateTo": _day(stay.end),
        "status": stay.status,
        "type": guest.kind,
        "contact": contact_ref(portfolio.contacts[guest.contact_id]),
        "roomStay": {
            "id": stay.id,
            "startDate": _day(stay.start),
            "endDate": _day(stay.end),
            "roomStayStatus": stay.status,
            "netAmount": stay.net_amount,
            "vatAmount": stay.vat_amount,
            "numberOfAdults": len(stay.guests),
            "numberOfChildren": 0,
            "numberOfInfants": 0,
            "unit": _unit_ref(portfolio, portfolio.units[stay.unit_id]),
        },
    }


def unit_row(portfolio: Portfolio, unit: Unit) -> Json:
    """Return a row of ``GET /api/v3/units`` (live): a different shape from the detail."""
    unit_type = portfolio.unit_types[unit.unit_type_id]
    return {
        "id": unit.id,
        "unitName": unit.name,
        "buildingName": portfolio.buildings[unit_type.building_id].name,
        "bookable": unit.bookable,
        "unitTypeName": unit_type.name,
    }


def unit_detail(portfolio: Portfolio, unit: Unit) -> Json:
    """``GET /api/v3/units/{id}`` (live)."""
    unit_type = portfolio.unit_types[unit.unit_type_id]
    return {
        "id": unit.id,
        "name": unit.name,
        "unitType": {"id": unit_type.id, "name": unit_type.name},
        "publish": unit.publish,
        "bookable": unit.bookable,
    }


def unit_type(portfolio: Portfolio, kind: UnitType) -> Json:
    """Return a unit type, in the list and the detail alike (doc)."""
    building = portfolio.buildings[kind.building_id]
    return {
        "id": kind.id,
        "building": {"id": building.id, "name": building.name},
        "name": kind.name,
        "unitTypeCode": kind.code,
        "shortDescription": kind.description,
        "minStay": kind.min_stay,
        "maxStay": kind.max_stay,
        "maxOccupancy": kind.max_occupancy,
        "type": kind.kind,
    }


def building(portfolio: Portfolio, building_id: int) -> Json:
    """Return a building: ``id`` and ``buildingName`` (client), the rest as POST's body (doc).

    That the list writes what the create body holds is a guess.
    """
    record = portfolio.buildings[building_id]
    return {
        "id": record.id,
        "buildingName": record.name,
        "buildingManagementType": record.management_type,
        "buildingAddress": {
            "id": record.id,
            "addressLine1": record.address_line1,
            "addressLine2": None,
            "addressLine3": None,
            "city": record.city,
            "postCode": record.postcode,
            "country": {"id": 826, "name": "United Kingdom"},
        },
    }


def contact(portfolio: Portfolio, record: Contact) -> Json:
    """Return a contact (doc).

    The fields are those a room stay's guests show (doc); ``primaryContactEmailAddress``
    follows the create body (client).
    """
    return {
        "id": record.id,
        "firstName": record.first_name,
        "middleNames": record.middle_names,
        "lastName": record.last_name,
        "jobTitle": record.job_title,
        "department": record.department,
        "preferences": record.preferences,
        "status": record.status,
        "marketingOptOut": record.marketing_opt_out,
        "primaryContactEmailAddress": {"email": record.email, "primary": True},
        "contactSalesAccount": (
            _sales_account(portfolio, record.account_id) if record.account_id is not None else None
        ),
    }


def rate(
    portfolio: Portfolio,
    plan: RatePlan,
    start: datetime.date,
    end: datetime.date,
    held: list[set[datetime.date]],
) -> Json:
    """Return a rate with its calendar from ``start`` to ``end`` inclusive (doc, live).

    ``held`` is `Portfolio.held_nights_by_unit` of the rate's unit type: ``bookable`` on a
    date is whether any of those units is free that night.
    """
    calendar = []
    day = start
    while day <= end:
        calendar.append(rate_segment(portfolio, plan, day, held))
        day += datetime.timedelta(days=1)
    return {**rate_detail(portfolio, plan), "rates": calendar}


def rate_segment(
    portfolio: Portfolio, plan: RatePlan, day: datetime.date, held: list[set[datetime.date]]
) -> Json:
    """Return one date of a rate's calendar (doc): its price and whether a unit is free."""
    return {
        "id": plan.id * 1_000_000 + day.toordinal() % 1_000_000,
        "date": _day(day),
        "amount": portfolio.price(plan, day),
        "bookable": any(day not in nights for nights in held),
    }


def rate_detail(portfolio: Portfolio, plan: RatePlan) -> Json:
    """Return a rate without its calendar (``GET /api/v3/rates/{id}``; that shape is a guess)."""
    kind = portfolio.unit_types[plan.unit_type_id]
    return {
        "id": plan.id,
        "rateCode": plan.code,
        "rateType": plan.rate_type,
        "name": plan.name,
        "shortName": plan.short_name,
        "occupancyCount": plan.occupancy,
        "ratePlan": {
            "id": plan.id,
            "title": plan.name,
            "description": f"{plan.name} for {kind.name}",
            "vatInclusive": False,
            "webDescription": f"{plan.name}: {kind.description}",
            "bookingTermsId": 1,
        },
    }


def _unit_ref(portfolio: Portfolio, unit: Unit) -> Json:
    unit_type = portfolio.unit_types[unit.unit_type_id]
    return {
        "id": unit.id,
        "name": unit.name,
        "buildingName": portfolio.buildings[unit_type.building_id].name,
    }


def _account(portfolio: Portfolio, account_id: int) -> Json:
    company = portfolio.companies.get(portfolio.accounts[account_id].company_id or 0)
    found = {"id": company.id, "companyName": company.name} if company else None
    return {"id": account_id, "company": found}


def _sales_account(portfolio: Portfolio, account_id: int) -> Json:
    # contactSalesAccount as a room stay's guests show it (doc); the contact inside is a guess.
    account = portfolio.accounts[account_id]
    person = portfolio.contacts.get(account.contact_id or 0)
    return {
        **_account(portfolio, account_id),
        "accountCode": account.code,
        "contact": (
            {"id": person.id, "firstName": person.first_name, "lastName": person.last_name}
            if person
            else None
        ),
        "externalId": account.external_id,
    }


def _local_time(value: datetime.time) -> Json:
    # How Jackson writes a java.time.LocalTime without the JSR-310 module (doc).
    return {"hour": value.hour, "minute": value.minute, "second": value.second, "nano": 0}


def created_booking(portfolio: Portfolio, booking_id: int) -> Json:
    """Return the answer to ``POST /api/v3/bookings``: its id and reference (doc), its stays.

    The room stays (as the booking detail lists them) are a guess: public booking clients
    read ``roomStays[0].id`` from this answer to move the new stay's status.
    """
    detail = booking_detail(portfolio, booking_id)
    return {key: detail[key] for key in ("id", "bookingReference", "roomStays")}


def booking_detail(portfolio: Portfolio, booking_id: int) -> Json:
    """Return ``GET /api/v3/bookings/{id}`` (a guess: a public client reads it, no page was seen).

    The names are those the booking rows and the create body use.
    """
    booking = portfolio.bookings[booking_id]
    channel = portfolio.channels[booking.channel_id]
    kind = portfolio.booking_types.get(booking.booking_type_id or 0)
    frequency = portfolio.billing_frequencies.get(booking.billing_frequency_id or 0)
    organisation = portfolio.organisations[booking.organisation_id]
    stays = sorted(
        (stay for stay in portfolio.room_stays.values() if stay.booking_id == booking.id),
        key=lambda stay: stay.id,
    )
    accounts = {
        "bookingAccount": booking.booking_account_id,
        "billingAccount": booking.billing_account_id,
    }
    return {
        "id": booking.id,
        "bookingReference": booking.reference,
        "customerReference": booking.customer_reference,
        "otaReference": booking.ota_reference,
        "bookingContact": contact_ref(portfolio.contacts[booking.contact_id]),
        "channel": {"id": channel.id, "name": channel.name},
        "bookingType": {"id": kind.id, "name": kind.name} if kind else None,
        "billingFrequency": {"id": frequency.id, "name": frequency.name} if frequency else None,
        **{
            name: _account(portfolio, key) if key in portfolio.accounts else None
            for name, key in accounts.items()
        },
        "organisationSettingsId": organisation.id,
        "organisationSettingsName": organisation.name,
        "roomStays": [
            {
                "id": stay.id,
                "roomStayStatus": stay.status,
                "startDate": _day(stay.start),
                "endDate": _day(stay.end),
                "unit": _unit_ref(portfolio, portfolio.units[stay.unit_id]),
                "netAmount": stay.net_amount,
                "vatAmount": stay.vat_amount,
            }
            for stay in stays
        ],
    }
