"""Parcel labels: read tracking numbers and sort parcels by the carrier that ships them."""

import re

# CARRIER + 9 digits + COUNTRY, the UPU S10 shape, e.g. "RR123456785DE"
_TRACKING = re.compile(r"([A-Z]{2})(\d{9})([A-Z]{2})")


def parse_tracking(raw):
    """(service, serial, country) of a tracking number; None when it is not one."""
    match = _TRACKING.fullmatch(raw.strip())
    if match is None:
        return None
    service, serial, country = match.groups()
    return service, int(serial), country


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
