"""客户画像: one typed profile per customer.

``profiles`` joins what a shop already knows about each customer — masked contact and
basic attributes, seed 001's behaviour tags, RFM total and grade, lifecycle stage,
preferred categories and recommendations — into one table, and ``Profiles.explain`` says
it in words for one customer.
"""

from ecrm.profile._profiles import BEHAVIOUR_TAGS, Profiles, profiles

__all__ = ["BEHAVIOUR_TAGS", "Profiles", "profiles"]
