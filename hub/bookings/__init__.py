"""Bookings on the hub: made online (``online``), checked (``rules``) and read (``views``).

A booking made here is placed in the site's zone, checked against the rental limits of the
latest published reference bundle, priced by the fee engine and inserted under the site's
advisory lock, the lock a push from the site's edge takes, so the site's feed is written in
order. The exclusion constraint decides overlap: online the hub is authoritative, so a clash is
refused (409 naming the booking that holds the slot), never turned into a Conflict record. In
the same transaction the renter, then the booking, go to the site's feed for its edge to pull.

Errors beyond ``hub.errors`` (subclassed for their codes, in ``rules``)::

    HubError
    ├── BookingRefused   422 the booking breaks a rule: ends before it starts, in the past, ...
    └── Conflict
        └── SlotTaken    409 an active booking holds part of that time on the resource
"""
