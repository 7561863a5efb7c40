"""A believable province for `govshare demo seed`: Jiangsu's provincial departments and the
resources they catalogue, with the info items such resources really carry."""

from __future__ import annotations

import random
from datetime import date, timedelta

from stdnum.cn import ric

DEPARTMENTS = [
    "江苏省公安厅", "江苏省民政厅", "江苏省人力资源和社会保障厅", "江苏省自然资源厅",
    "江苏省市场监督管理局", "国家税务总局江苏省税务局", "江苏省卫生健康委员会", "江苏省医疗保障局",
    "江苏省住房和城乡建设厅", "江苏省教育厅", "江苏省交通运输厅", "江苏省生态环境厅",
    "江苏省农业农村厅", "江苏省水利厅", "江苏省商务厅", "江苏省文化和旅游厅", "江苏省应急管理厅",
    "江苏省审计厅", "江苏省统计局", "江苏省司法厅", "江苏省财政厅", "江苏省发展和改革委员会",
    "江苏省工业和信息化厅", "江苏省科学技术厅", "江苏省退役军人事务厅", "江苏省林业局",
    "江苏省粮食和物资储备局", "江苏省地方金融监督管理局", "江苏省体育局", "江苏省药品监督管理局",
    "江苏省政务服务管理办公室", "江苏省大数据管理中心", "江苏省住房公积金管理中心", "江苏省档案局",
    "江苏省气象局", "江苏省通信管理局", "江苏省消防救援总队", "江苏省残疾人联合会",
    "江苏省人民政府外事办公室", "江苏省信用办公室",
]

CITIES = ["南京市", "无锡市", "徐州市", "常州市", "苏州市", "南通市", "连云港市", "淮安市",
          "盐城市", "扬州市", "镇江市", "泰州市", "宿迁市"]

ID = {"name": "公民身份号码", "code": "GMSFHM", "data_type": "C", "length": 18,
      "identifies_subject": True, "is_base_item": True, "share_type": "unconditional"}
NAME = {"name": "姓名", "code": "XM", "data_type": "C", "length": 50, "is_base_item": True,
        "share_type": "unconditional"}
USCC = {"name": "统一社会信用代码", "code": "TYSHXYDM", "data_type": "C", "length": 18,
        "identifies_subject": True, "is_base_item": True, "share_type": "unconditional"}
ORG = {"name": "单位名称", "code": "DWMC", "data_type": "C", "length": 200, "is_base_item": True,
       "share_type": "unconditional"}


def item(name: str, code: str, data_type: str = "C", share: str = "unconditional",
         length: int | None = 100) -> dict[str, object]:
    return {"name": name, "code": code, "data_type": data_type, "share_type": share,
            **({"length": length} if data_type == "C" else {})}


# department → [(name template, classification, items, share type, methods, update cycle)]
RESOURCES: dict[str, list[tuple[str, dict[str, str], list[dict[str, object]], str, list[str],
                                str]]] = {
    "江苏省公安厅": [
        ("{city}户籍人口基础信息", {"top": "base", "item": "01", "category": "001"},
         [ID, NAME, item("性别", "XB", length=1), item("民族", "MZ", length=20),
          item("出生日期", "CSRQ", "D"), item("户籍地址", "HJDZ", length=200)],
         "unconditional", ["online_query", "bulk_download"], "daily"),
        ("{city}居民身份证制证信息", {"top": "base", "item": "05", "category": "001"},
         [ID, NAME, item("签发机关", "QFJG"), item("有效期限", "YXQX", "D")],
         "unconditional", ["online_query"], "daily"),
    ],
    "江苏省民政厅": [
        ("{city}婚姻登记信息", {"top": "department", "item": "02", "category": "001"},
         [ID, NAME, item("婚姻状况", "HYZK", share="conditional", length=10),
          item("登记日期", "DJRQ", "D", "conditional"),
          item("登记机关", "DJJG", share="conditional")],
         "conditional", ["online_query"], "daily"),
        ("{city}社会救助对象信息", {"top": "theme", "item": "07", "category": "001"},
         [ID, NAME, item("救助类别", "JZLB", share="conditional"),
          item("救助金额", "JZJE", "Y", "conditional")],
         "conditional", ["online_query", "bulk_download"], "monthly"),
    ],
    "江苏省人力资源和社会保障厅": [
        ("{city}企业职工养老保险参保信息", {"top": "theme", "item": "03", "category": "001"},
         [ID, NAME, item("参保状态", "CBZT", share="conditional", length=10),
          item("缴费基数", "JFJS", "Y", "conditional"),
          item("参保日期", "CBRQ", "D", "conditional")],
         "conditional", ["online_query", "system_integration"], "monthly"),
        ("{city}失业保险金领取信息", {"top": "theme", "item": "03", "category": "002"},
         [ID, NAME, item("领取月数", "LQYS", "I", "conditional"),
          item("领取金额", "LQJE", "Y", "conditional")],
         "conditional", ["online_query"], "monthly"),
    ],
    "江苏省市场监督管理局": [
        ("{city}企业登记注册信息", {"top": "base", "item": "02", "category": "001"},
         [USCC, ORG, item("法定代表人", "FDDBR", length=50), item("成立日期", "CLRQ", "D"),
          item("注册资本", "ZCZB", "Y"), item("经营范围", "JYFW", "M")],
         "unconditional", ["online_query", "bulk_download", "front_end_processor"], "realtime"),
        ("{city}行政处罚信息", {"top": "base", "item": "04", "category": "002"},
         [USCC, ORG, item("处罚决定书文号", "CFWH"), item("处罚内容", "CFNR", "M"),
          item("处罚日期", "CFRQ", "D")],
         "unconditional", ["bulk_download"], "weekly"),
    ],
    "江苏省自然资源厅": [
        ("{city}不动产登记信息", {"top": "theme", "item": "10", "category": "001"},
         [item("不动产单元号", "BDCDYH", length=28), item("权利人", "QLR", share="conditional"),
          item("坐落", "ZL", length=200, share="conditional"),
          item("登簿日期", "DBRQ", "D", "conditional")],
         "conditional", ["online_query"], "daily"),
    ],
    "国家税务总局江苏省税务局": [
        ("{city}纳税人登记信息", {"top": "department", "item": "05", "category": "001"},
         [USCC, ORG, item("纳税人状态", "NSRZT", share="conditional", length=10),
          item("主管税务机关", "ZGSWJG", share="conditional")],
         "conditional", ["online_query", "bulk_download"], "daily"),
    ],
    "江苏省医疗保障局": [
        ("{city}基本医疗保险参保信息", {"top": "theme", "item": "03", "category": "003"},
         [ID, NAME, item("险种类型", "XZLX", share="conditional", length=20),
          item("参保状态", "CBZT", share="conditional", length=10)],
         "conditional", ["online_query", "system_integration"], "monthly"),
    ],
    "江苏省住房公积金管理中心": [
        ("{city}住房公积金缴存信息", {"top": "theme", "item": "03", "category": "004"},
         [ID, NAME, item("个人账号", "GRZH", share="conditional", length=30),
          item("月缴存额", "YJCE", "Y", "conditional"),
          item("缴存状态", "JCZT", share="conditional")],
         "conditional", ["online_query"], "monthly"),
    ],
    "江苏省信用办公室": [
        ("{city}公共信用综合评价信息", {"top": "base", "item": "04", "category": "001"},
         [USCC, ORG, item("评价等级", "PJDJ", length=10), item("评价日期", "PJRQ", "D")],
         "unconditional", ["online_query", "bulk_download"], "monthly"),
    ],
    "江苏省政务服务管理办公室": [
        ("{city}电子证照目录信息", {"top": "base", "item": "05", "category": "002"},
         [item("证照编号", "ZZBH"), item("证照类型", "ZZLX"), item("持证主体", "CZZT"),
          item("颁发日期", "BFRQ", "D")],
         "unconditional", ["online_query", "system_integration"], "realtime"),
    ],
}

GENERIC = [
    ("{city}{department}行政许可信息", {"top": "department", "item": "09", "category": "001"},
     [USCC, ORG, item("许可决定书文号", "XKWH"), item("许可内容", "XKNR", "M"),
      item("许可日期", "XKRQ", "D")],
     "unconditional", ["bulk_download"], "weekly"),
    ("{city}{department}统计年报数据", {"top": "department", "item": "09", "category": "002"},
     [item("指标名称", "ZBMC"), item("指标值", "ZBZ", "N"), item("统计年度", "TJND", "I")],
     "unconditional", ["bulk_download"], "yearly"),
]


RESOURCE_OWNERS = {template[0].format(city="南京市", department=""): department
                   for department, templates in RESOURCES.items() for template in templates}

# (consumer, Nanjing entry, items, provider's answer or None): one of each outcome.
SHARING_STORY: list[tuple[str, str, list[str], dict[str, object] | None]] = [
    ("江苏省人力资源和社会保障厅", "南京市户籍人口基础信息", ["GMSFHM", "XM", "CSRQ"], None),
    ("江苏省民政厅", "南京市企业职工养老保险参保信息", ["GMSFHM", "XM", "CBZT"], None),
    ("江苏省医疗保障局", "南京市失业保险金领取信息", ["GMSFHM", "XM", "LQYS", "LQJE"],
     {"approve": True, "items": ["GMSFHM", "LQYS"], "rate_limit_per_minute": 600}),
    ("江苏省住房公积金管理中心", "南京市婚姻登记信息", ["GMSFHM", "HYZK"],
     {"approve": False, "reason": "婚姻状况仅向办理婚姻相关业务的部门共享，请说明法定职责依据"}),
]


def demo_request(entry_code: str, items: list[str]) -> dict[str, object]:
    return {"entry_code": entry_code, "legal_basis": "履行法定职责所需（演示）",
            "purpose": "data_verification", "items": items, "methods": ["online_query"],
            "valid_until": (date.today() + timedelta(days=365)).isoformat()}


def demo_people_csv(count: int) -> bytes:
    """Nanjing residents with valid ID numbers (check digits by python-stdnum)."""
    rng = random.Random(320102)
    lines = ["GMSFHM,XM,XB,MZ,CSRQ,HJDZ"]
    for index in range(count):
        birth = date(1986, 1, 1) + timedelta(days=rng.randrange(13_000))
        body = f"320102{birth:%Y%m%d}{index:03d}"
        number = body + ric.calc_check_digit(body + "0")
        name = rng.choice("王李张刘陈杨赵黄周吴") + rng.choice("伟芳娜秀英敏静丽强磊")
        lines.append(f"{number},{name},{index % 2 + 1},汉族,{birth.isoformat()},"
                     f"南京市玄武区中山路{index + 1}号")
    return ("\n".join(lines) + "\n").encode()
