"""Parcel labels: read tracking numbers and sort parcels by the carrier that ships them."""

import re


def parse_tracking(raw):
    """(service, serial, country) of a tracking number; None when it is not one.

    Scanners at the depots send lowercase letters and spaces between the parts; both are read.
    """
    match = re.fullmatch(
        r"""
        ([a-z]{2}) \s*      # service
        (\d{9}) \s*         # serial
        ([a-z]{2})          # country
        """,
        raw.strip(),
        re.IGNORECASE | re.VERBOSE,
    )
    if match is None:
        return None
    service, serial, country = match.groups()
    return service.upper(), int(serial), country.upper()


def parcels_by_carrier(parcels):
    """Map carrier country -> [(service, serial, weight)], plus the parcels that did not parse."""
    carriers = {}
    unreadable = []
    for parcel in parcels:
        parsed = parse_tracking(parcel["tracking"])
        if parsed is None:
            unreadable.append(parcel)
            continue
        service, serial, country = parsed
        carriers.setdefault(country, []).append((service, serial, parcel["grams"]))
    for entries in carriers.values():
        entries.sort()
    return carriers, unreadable
