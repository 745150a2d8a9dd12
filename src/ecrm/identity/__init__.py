"""One customer across channels (全渠道统一): merge records from several sources.

``SourceRecords`` holds one source's records and their identifiers (platform buyer id,
phone, e-mail, WeChat unionid / openid, member card); ``resolve_identities`` links records
that share a normalised identifier, closes the links transitively, names each customer by
its anchor record and reports conflicts; the :class:`IdentityMap` re-keys an ``OrderLog``,
``EventLog`` or ``CustomerTable`` to the merged customers.
"""

from ecrm.identity._resolve import KINDS, IdentityMap, SourceRecords, resolve_identities

__all__ = ["KINDS", "IdentityMap", "SourceRecords", "resolve_identities"]
