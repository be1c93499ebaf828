"""All models, importable from one place: ``from core.models import Village``."""
from core.models.organisation import (ROLES, VILLAGE_KINDS, Assistant, District, LawFirm,
                                      Lawyer, Town, User, Village)
from core.models.pairing import (GROUP_ROLES, HALF_DAYS, Pairing, WechatGroup,
                                 WechatGroupMember)

ALL_MODELS = [District, Town, Village, LawFirm, Lawyer, Assistant, User, Pairing,
              WechatGroup, WechatGroupMember]

__all__ = ["ALL_MODELS", "ROLES", "VILLAGE_KINDS", "GROUP_ROLES", "HALF_DAYS", "Assistant",
           "District", "LawFirm", "Lawyer", "Town", "User", "Village", "Pairing",
           "WechatGroup", "WechatGroupMember"]
