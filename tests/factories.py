"""Realistic test data: Chinese department names and valid unified social credit codes."""

from __future__ import annotations

import random
import string

from faker import Faker
from stdnum.cn import ric, uscc

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


def population_entry(name: str | None = None) -> dict[str, object]:
    """A base population resource (人口基础信息) as a provider declares it."""
    return {
        "classification": {"top": "base", "item": "01", "category": "001"},
        "name": name or f"常住人口基础信息{random.randint(100_000, 999_999)}",
        "abstract": "本市常住人口的姓名、公民身份号码、性别、民族、出生日期、户籍地址等基础信息。",
        "format": {"kind": "database", "sub_format": "postgresql"},
        "items": [
            {"name": "姓名", "code": "XM", "data_type": "C", "length": 50,
             "is_base_item": True, "share_type": "unconditional"},
            {"name": "公民身份号码", "code": "GMSFHM", "data_type": "C", "length": 18,
             "identifies_subject": True, "is_base_item": True, "share_type": "unconditional"},
            {"name": "出生日期", "code": "CSRQ", "data_type": "D", "is_base_item": True,
             "share_type": "unconditional"},
        ],
        "share": {"type": "unconditional", "channel": "platform",
                  "methods": ["online_query", "bulk_download"]},
        "update_cycle": "daily",
    }


def theme_entry(share: dict[str, object]) -> dict[str, object]:
    """A theme resource (社会保障) with the given share attributes."""
    return {
        "classification": {"top": "theme", "item": "03", "category": "002"},
        "name": f"城镇职工养老保险参保信息{random.randint(100_000, 999_999)}",
        "abstract": "参保人员的参保状态、缴费基数和缴费记录。",
        "format": {"kind": "service_api", "sub_format": "json"},
        "items": [{"name": "公民身份号码", "code": "GMSFHM", "data_type": "C", "length": 18,
                   "identifies_subject": True, "share_type": "conditional"},
                  {"name": "缴费基数", "code": "JFJS", "data_type": "Y",
                   "share_type": "conditional"}],
        "share": share,
        "update_cycle": "monthly",
    }


def open_entry() -> dict[str, object]:
    """A dataset a city opens to the public (公共自行车站点), one item of which (the station
    keeper's telephone) it shares with departments only, on conditions."""
    return {
        "classification": {"top": "theme", "item": "05", "category": "001"},
        "name": f"公共自行车站点信息{random.randint(100_000, 999_999)}",
        "abstract": "全市公共自行车租赁站点的编号、名称、所在区和车位数。",
        "format": {"kind": "spreadsheet", "sub_format": "csv"},
        "items": [
            {"name": "站点编号", "code": "ZDBH", "data_type": "C", "length": 12,
             "identifies_subject": True, "share_type": "unconditional"},
            {"name": "站点名称", "code": "ZDMC", "data_type": "C", "length": 100,
             "share_type": "unconditional"},
            {"name": "所在区", "code": "SZQ", "data_type": "C", "length": 20,
             "share_type": "unconditional"},
            {"name": "车位数", "code": "CWS", "data_type": "I", "share_type": "unconditional"},
            {"name": "管理员电话", "code": "GLYDH", "data_type": "C", "length": 20,
             "share_type": "conditional"},
        ],
        "share": {"type": "unconditional", "channel": "platform", "methods": ["bulk_download"]},
        "open": {"is_open": True, "conditions": "注明来源后可自由使用"},
        "update_cycle": "monthly",
    }


def id_number(region: str = "320102") -> str:
    """A valid 18-digit resident ID number (公民身份号码) with its check digit."""
    birth = fake.date_of_birth(minimum_age=1, maximum_age=40).strftime("%Y%m%d")
    body = f"{region}{birth}{random.randint(0, 999):03d}"
    return body + ric.calc_check_digit(body + "0")  # it expects a check-digit slot


def person_name() -> str:
    return fake.name()
