"""Realistic test data: Chinese department names and valid unified social credit codes."""

from __future__ import annotations

import random
import string

from faker import Faker
from stdnum.cn import uscc

fake = Faker("zh_CN")
_ORGANISATION_CODE_CHARS = string.digits + "ABCDEFGHJKLMNPQRTUWXY"
BUREAUS = ["公安局", "民政局", "人力资源和社会保障局", "市场监督管理局", "卫生健康委员会",
           "自然资源和规划局", "教育局", "税务局", "统计局", "生态环境局"]


def credit_code(region: str = "320100") -> str:
    """A valid 18-character unified social credit code of a government body (11…)."""
    body = "11" + region + "".join(random.choices(_ORGANISATION_CODE_CHARS, k=9))
    return body + uscc.calc_check_digit(body)


def department_name() -> str:
    """A unique-enough department name such as 南京市公安局(鼓楼72631)."""
    return f"{fake.city_name()}{random.choice(BUREAUS)}{random.randint(10_000, 99_999)}"


def department(region: str = "320100", tier: str = "municipal") -> dict[str, str]:
    return {"credit_code": credit_code(region), "name": department_name(), "tier": tier,
            "region_code": region}


def username() -> str:
    return "u" + "".join(random.choices(string.ascii_lowercase + string.digits, k=10))
