"""How the API writes its reference data: the one place that knows those field names.

Known from the API description (doc): booking types, channels, access groups as
``unitAccessGroups`` nests them, activities and their types, VAT profiles' tax seasons,
extras. Guessed, as a Spring service would write its entities: cities, areas, billing
frequencies and finance accounts (their pages were not seen), and the extras' ``building``
and ``availableThroughIBE`` (named only as filters).
"""

from __future__ import annotations

import datetime
from typing import Any

from .._portfolio import Portfolio
from .._records import Account, Channel
from .._reference_records import (
    AccessGroup,
    Activity,
    ActivityType,
    Area,
    BillingFrequency,
    BookingType,
    City,
    Extra,
    UnitAccessGroup,
    VatProfile,
)

Json = dict[str, Any]

#: The one currency of the fake operator (booking types nest it in full, doc).
CURRENCY = {
    "id": 1,
    "name": "GBP",
    "description": "Pound sterling",
    "symbol": "£",
    "exchangeRate": 1.0,
}
#: When the seeded reference records were made (their ``created`` and ``lastUpdated``).
REFERENCE_CREATED = datetime.datetime(2024, 1, 8, 9, 0, tzinfo=datetime.timezone.utc)
_COUNTRY = {"id": 826, "name": "United Kingdom"}


def moment(value: datetime.datetime | None) -> str | None:
    """Write a UTC time as Jackson writes an ``OffsetDateTime`` (``2026-11-28T11:00:00Z``)."""
    if value is None:
        return None
    text = value.astimezone(datetime.timezone.utc).isoformat(timespec="seconds")
    return text.replace("+00:00", "Z")


def booking_type(portfolio: Portfolio, record: BookingType) -> Json:
    """``GET /api/v3/bookingTypes/{id}`` (doc)."""
    organisation = portfolio.organisations[min(portfolio.organisations)]
    return {
        "id": record.id,
        "name": record.name,
        "description": record.description,
        "shortCode": record.short_code,
        "billingType": record.billing_type,
        "emailTo": record.email_to,
        "systemBookingType": record.system_booking_type,
        "systemName": record.system_name,
        "uuid": record.uuid,
        "organisationSettings": {
            "id": organisation.id,
            "name": organisation.name,
            "currency": CURRENCY,
        },
    }


def channel(portfolio: Portfolio, record: Channel) -> Json:
    """``GET /api/v3/channels/{id}`` (doc)."""
    operator = portfolio.companies.get(record.operator_company_id or 0)
    return {
        "id": record.id,
        "name": record.name,
        "operator": {"id": operator.id, "companyName": operator.name} if operator else None,
        "commissionBasis": record.commission_basis,
        "defaultCommissionRate": record.commission_rate,
        "bookingType": booking_type(portfolio, portfolio.booking_types[record.booking_type_id]),
    }


def billing_frequency(portfolio: Portfolio, record: BillingFrequency) -> Json:
    """Return a billing frequency (a guess: only the group's name is known)."""
    return {"id": record.id, "name": record.name}


def city(portfolio: Portfolio, record: City) -> Json:
    """Return a city (a guess)."""
    return {"id": record.id, "name": record.name, "country": {**_COUNTRY, "name": record.country}}


def area(portfolio: Portfolio, record: Area) -> Json:
    """Return an area (a guess)."""
    town = portfolio.cities[record.city_id]
    return {"id": record.id, "name": record.name, "city": {"id": town.id, "name": town.name}}


def access_group(portfolio: Portfolio, record: AccessGroup) -> Json:
    """Return an access group, as ``unitAccessGroups`` nests it (doc)."""
    building = portfolio.buildings[record.building_id]
    return {
        "id": record.id,
        "name": record.name,
        "building": {"id": building.id, "name": building.name},
        "externalIdentifier": record.external_identifier,
    }


def unit_access_group(portfolio: Portfolio, record: UnitAccessGroup) -> Json:
    """Return a unit's membership of an access group (doc)."""
    unit = portfolio.units[record.unit_id]
    return {
        "id": record.id,
        "unit": {"id": unit.id, "name": unit.name},
        "accessGroup": access_group(portfolio, portfolio.access_groups[record.access_group_id]),
    }


def activity_type(record: ActivityType) -> Json:
    """Return an activity type: a nested reference object with its bookkeeping fields (doc)."""
    return {
        "created": moment(REFERENCE_CREATED),
        "lastUpdated": moment(REFERENCE_CREATED),
        "links": [],
        "deleted": False,
        "id": record.id,
        "name": record.name,
        "systemType": record.system_type,
        "category": record.category,
    }


def activity(portfolio: Portfolio, record: Activity) -> Json:
    """``GET /api/v3/activities/{id}`` and a room stay's activities (doc; ``roomStay`` a guess)."""
    issue = None
    if record.issue_subject is not None:
        issue = {
            "id": record.id,
            "subject": record.issue_subject,
            "description": record.content,
            "issueStatus": "RESOLVED" if record.resolved else "OPEN",
        }
    return {
        "id": record.id,
        "subject": record.subject,
        "content": record.content,
        "dueDate": moment(record.due),
        "scheduledDate": moment(record.due),
        "originalScheduledDate": moment(record.due),
        "duration": record.duration_minutes,
        "resolvedDate": moment(record.resolved),
        "closedDate": moment(record.closed),
        "status": record.status,
        "activityType": activity_type(portfolio.activity_types[record.activity_type_id]),
        "priority": record.priority,
        "issue": issue,
        "roomStay": {"id": record.room_stay_id},
    }


def vat_profile(portfolio: Portfolio, record: VatProfile) -> Json:
    """Return a VAT profile, as extras nest it (doc)."""
    return {"id": record.id, "name": record.name, "description": record.description}


def tax_seasons(
    portfolio: Portfolio, record: VatProfile, start: datetime.date, end: datetime.date
) -> Json:
    """``GET /api/v3/vatProfiles/{id}/taxSeasons``: one season per calendar year (doc)."""
    code = portfolio.tax_codes[record.tax_code_id]
    seasons = [
        {
            "id": record.id * 10_000 + year,
            "startDate": datetime.date(year, 1, 1).isoformat(),
            "endDate": datetime.date(year, 12, 31).isoformat(),
            "taxCodeLow": {"id": code.id, "name": code.name},
            "taxCodeHigh": {"id": code.id, "name": code.name},
            "boundaryDay": None,
            "hasTaxBoundary": False,
        }
        for year in range(start.year, end.year + 1)
    ]
    return {"id": record.id, "taxSeasons": seasons}


def extra_row(portfolio: Portfolio, record: Extra) -> Json:
    """Return an extra (doc; ``building`` and ``availableThroughIBE`` are guesses)."""
    building = portfolio.buildings[record.building_id]
    return {
        "id": record.id,
        "description": f"{record.name}, {building.name}",
        "product": {"id": record.id, "productCode": record.product_code, "name": record.name},
        "billing_frequency": record.frequency,  # spelled so in the description
        "netPrice": record.net_price,
        "vatProfile": vat_profile(portfolio, portfolio.vat_profiles[record.vat_profile_id]),
        "building": {"id": building.id, "name": building.name},
        "availableThroughIBE": record.through_ibe,
    }


def finance_account(portfolio: Portfolio, record: Account) -> Json:
    """Return a finance account: the fields ``contactSalesAccount`` shows (doc), and export ones.

    ``exportStatus`` and ``exportedDate`` are guesses from the export-status PATCH's body.
    """
    company = portfolio.companies.get(record.company_id or 0)
    person = portfolio.contacts.get(record.contact_id or 0)
    return {
        "id": record.id,
        "accountCode": record.code,
        "contact": (
            {"id": person.id, "firstName": person.first_name, "lastName": person.last_name}
            if person
            else None
        ),
        "company": {"id": company.id, "companyName": company.name} if company else None,
        "externalId": record.external_id,
        "exportStatus": record.export_status,
        "exportedDate": moment(record.exported_date),
    }
