"""Citation audit: every provision the rule base cites says what the rule uses it for.

A wrong article number (art95 for art96), or a paragraph/item off by one, still resolves in the
graph, so `rules check` cannot see it. This register pins each cited provision to the words it
is cited for, read from the bundled statute text with a parser independent of the loader's
(the `<p id="tN">` anchors of the mirror, `<br>` = next line, `（一）` = item), and records which
rules were audited to cite it (so a swap between two registered provisions is caught too). A
new citation, or a rule newly citing a provision, is added here after reading the provision.

Free text that names articles (rule notes, actions, rationales, escalation texts, ontology
comments) is checked too: every article it names must be one the rule cites, or be named
inside the text of a provision the rule cites (the 2024 MEE clause names Air Law art. 96).
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecobrain.kb_loaders.legal.statutes import bundled_statutes_dir
from ecobrain.ontology.cn_numerals import parse_cn_int

ROOT = Path(__file__).resolve().parent.parent
RULES = sorted((ROOT / "rules").glob("*.yaml"))
STATUTES = bundled_statutes_dir()
TEXT_FILES = {"cn.air-law.2018": "大气污染防治法-2018.md", "cn.ep-law.2014": "环境保护法-2014.md"}
# plain-text statutes (one line per paragraph, 第X条 + full-width space), read line by line
PLAIN_FILES = {"zj.air-reg.2020": "浙江省大气污染防治条例-2020.md",
               "zj.vehicle-reg.2020": "浙江省机动车排气污染防治条例-2020.md",
               "hz.air-reg.2016": "杭州市大气污染防治规定-2016.md"}
POLICY_SIDECARS = ("重污染天气应对指导意见-2024.meta.yaml", "重污染天气预警分级-2017.meta.yaml",
                   "重污染天气重点行业应急减排措施制定技术指南-2020.meta.yaml",
                   "空气质量持续改善行动计划-2023.meta.yaml")

# citation id -> words the cited text must contain (what the rules rely on it for). Audited
# 2026-11 against ../shared/domain/statutes and FACTS.md (report in the commit message).
# For an item (.i<k>) the words may be in the item or in the article's lead-in sentence.
REGISTER: dict[str, tuple[str, ...]] = {
    "cn.air-law.2018.art2.p2": ("推行区域大气污染联合防治", "挥发性有机物", "实施协同控制"),
    "cn.air-law.2018.art20.p2": ("篡改或者伪造监测数据", "逃避监管的方式排放大气污染物"),
    "cn.air-law.2018.art24": ("重点排污单位应当安装、使用大气污染物排放自动监测设备",),
    "cn.air-law.2018.art25": ("重点排污单位应当对自动监测数据的真实性和准确性负责",),
    "cn.air-law.2018.art29": ("遥感监测", "进行监督检查"),
    "cn.air-law.2018.art30": ("造成或者可能造成严重大气污染", "查封、扣押"),
    "cn.air-law.2018.art43": ("粉尘、硫化物和氮氧化物", "配套建设除尘、脱硫、脱硝等装置"),
    "cn.air-law.2018.art45": ("产生含挥发性有机物废气的生产和服务活动", "密闭空间或者设备"),
    "cn.air-law.2018.art46": ("工业涂装企业应当使用低挥发性有机物含量的涂料", "台账"),
    "cn.air-law.2018.art47.p1": ("对管道、设备进行日常维护、维修，减少物料泄漏",),
    "cn.air-law.2018.art47.p2": ("储油储气库、加油加气站", "安装油气回收装置并保持正常使用"),
    "cn.air-law.2018.art48": ("采取集中收集处理等措施", "堆存、传输、装卸"),
    "cn.air-law.2018.art51": ("机动车船、非道路移动机械不得超过标准排放大气污染物",),
    "cn.air-law.2018.art53.p2": ("在机动车集中停放地、维修地", "遥感监测", "监督抽测"),
    "cn.air-law.2018.art68": ("防治扬尘污染",),
    "cn.air-law.2018.art69": ("施工单位应当在施工工地设置硬质围挡",),
    "cn.air-law.2018.art70": ("防止物料遗撒造成扬尘污染", "装卸物料应当采取密闭或者喷淋"),
    "cn.air-law.2018.art72": ("易产生扬尘的物料应当密闭",),
    "cn.air-law.2018.art77": ("禁止露天焚烧秸秆、落叶",),
    "cn.air-law.2018.art82.p1": ("焚烧沥青、油毡、橡胶、塑料、皮革、垃圾",),
    "cn.air-law.2018.art86.p2": ("定期召开联席会议", "开展大气污染联合防治"),
    "cn.air-law.2018.art91": ("信息共享机制", "分析重点区域内大气污染来源"),
    "cn.air-law.2018.art92": ("联合执法、跨区域执法、交叉执法",),
    "cn.air-law.2018.art95.p1": ("确定预警等级并及时发出预警",),
    "cn.air-law.2018.art95.p2": ("预警信息发布后", "告知公众采取健康防护措施"),
    "cn.air-law.2018.art96": (
        "依据重污染天气的预警等级，及时启动应急预案", "责令有关企业停产或者限产",
        "限制部分机动车行驶", "禁止燃放烟花爆竹", "停止工地土石方作业和建筑物拆除施工",
        "停止露天烧烤", "停止幼儿园和学校组织的户外活动"),
    "cn.air-law.2018.art99.i2": ("限制生产、停产整治", "超过大气污染物排放标准"),
    "cn.air-law.2018.art99.i3": ("限制生产、停产整治", "通过逃避监管的方式排放大气污染物"),
    "cn.air-law.2018.art100.i3": ("未按照规定安装、使用大气污染物排放自动监测设备", "联网"),
    "cn.air-law.2018.art108.i1": ("含挥发性有机物废气", "未按照规定安装、使用污染防治设施"),
    "cn.air-law.2018.art108.i2": ("工业涂装企业未使用低挥发性有机物含量涂料", "台账"),
    "cn.air-law.2018.art108.i3": ("减少物料泄漏",),
    "cn.air-law.2018.art108.i4": ("未按照国家有关规定安装并正常使用油气回收装置",),
    "cn.air-law.2018.art108.i5": ("密闭、围挡、遮盖", "粉尘和气态污染物排放"),
    "cn.air-law.2018.art115": ("施工工地未设置硬质围挡", "住房城乡建设等主管部门"),
    "cn.air-law.2018.art117": ("未密闭煤炭", "易产生扬尘的物料"),
    "cn.air-law.2018.art119.p1": ("露天焚烧秸秆、落叶",),
    "cn.air-law.2018.art121.p2": (
        "拒不执行停止工地土石方作业或者建筑物拆除施工等重污染天气应急措施",
        "一万元以上十万元以下"),
    "cn.ep-law.2014.art25": ("可能造成严重污染", "查封、扣押造成污染物排放的设施、设备"),
    "cn.mee.2024-6.grading": (
        "黄色预警以预测日AQI>200或日AQI>150持续48小时及以上",
        "橙色预警以预测日AQI>200持续48小时或日AQI>150持续72小时及以上",
        "红色预警以预测日AQI>200持续72小时且日AQI>300持续24小时及以上"),
    "cn.mee.2024-6.differentiated": (
        "因细颗粒物(PM2.5)污染造成的重污染天气，应严格按照大气法第九十六条",
        "因臭氧(O3)污染造成的重污染天气，应及时向社会发布健康提示信息",
        "可视情采取加强扬尘源管控"),
    "cn.mee.2017-alert-grading.grading": ("蓝色 预测AQI日均值>200", "或预测AQI日均值达到500"),
    # in force after 2026-08-15 (audited 2026-12-03 against the LawRefBook mirror of
    # flk.npc.gov.cn, docs/regulations.md §1): the same duty as the Air Law article beside it
    "zj.air-reg.2020.art17.p1": (
        "重点排污单位应当按照国家和省有关规定安装、使用大气污染物排放自动监测设备", "联网"),
    "zj.air-reg.2020.art17.p4": ("排污单位和监测机构对监测数据的真实性和准确性负责",),
    "zj.air-reg.2020.art20": ("随机抽查与重点检查相结合", "开展监督检查",
                              "偷排漏排、大气污染防治设施和监测设备运行"),
    "zj.air-reg.2020.art34": ("烟粉尘、硫化物和氮氧化物", "执行国家和省相关排放标准",
                              "密闭、围挡、遮盖", "堆存、传输、装卸"),
    "zj.air-reg.2020.art34.p1": (
        "工业生产企业排放烟粉尘、硫化物和氮氧化物等气态污染物的，应当执行国家和省相关排放标准",),
    "zj.air-reg.2020.art34.p2": ("控制生产场所粉尘和气态污染物的泄漏和排放", "密闭"),
    "zj.air-reg.2020.art42": ("施工扬尘污染防治实施方案", "设置硬质围挡"),
    "zj.air-reg.2020.art43.p1": ("散装、流体物料的车辆，应当采取密闭或者其他措施，防止扬尘污染",),
    "zj.air-reg.2020.art46.p1": ("禁止露天焚烧秸秆、落叶", "垃圾"),
    "zj.air-reg.2020.art47": ("建立大气污染联合防治机制", "开展大气污染联合防治"),
    "zj.air-reg.2020.art48": ("共享区域大气环境信息", "区域大气污染联合执法"),
    "zj.air-reg.2020.art54.p1": ("根据重污染天气预报信息，确定预警等级，及时发布预警",),
    "zj.air-reg.2020.art54.p2": ("预警信息发布后", "告知公众采取健康防护措施"),
    "zj.air-reg.2020.art55": (
        "根据重污染天气预警等级，及时启动应急预案", "责令有关企业暂停生产或者限产",
        "限制部分机动车行驶", "停止或者限制产生扬尘的施工作业", "禁止燃放烟花爆竹和露天烧烤",
        "停止学校和幼儿园组织的户外活动"),
    "zj.air-reg.2020.art55.i1": ("根据重污染天气预警等级，及时启动应急预案",
                                 "责令有关企业暂停生产或者限产"),
    "zj.air-reg.2020.art55.i2": ("按照预警级别采取相应应急响应措施", "限制部分机动车行驶"),
    "zj.air-reg.2020.art55.i3": ("按照预警级别采取相应应急响应措施",
                                 "停止或者限制产生扬尘的施工作业"),
    "zj.air-reg.2020.art55.i4": ("按照预警级别采取相应应急响应措施", "禁止燃放烟花爆竹和露天烧烤"),
    "zj.air-reg.2020.art55.i5": ("按照预警级别采取相应应急响应措施",
                                 "停止学校和幼儿园组织的户外活动"),
    "zj.air-reg.2020.art68": ("违反本条例第五十五条规定", "拒不执行扬尘管控措施",
                              "一万元以上十万元以下"),
    "zj.vehicle-reg.2020.art10.p3": ("在大气污染严重的情况下", "按照相关应急预案",
                                     "限制、禁止机动车通行"),
    "zj.vehicle-reg.2020.art26": ("遥感监测", "对在用机动车进行排气监督抽测"),
    "zj.vehicle-reg.2020.art27": ("重点抽查", "机动车集中停放场所", "机动车维修地"),
    "hz.air-reg.2016.art28.p1": (
        "根据重污染天气预警等级，及时启动应急预案", "限制部分机动车行驶",
        "停止或者限制产生扬尘的施工作业", "禁止燃放烟花爆竹和露天烧烤"),
    "cn.mee.tech-guide.2020.purpose": ("开展绩效分级", "制定差异化减排措施",
                                       "可以减少或免除应急减排措施"),
    "cn.state-council.2023-24.guiding-thought": (
        "以减少重污染天气", "大力推动氮氧化物和挥发性有机物(VOCs)减排"),
}

# the public and sector measures graded by alert level (rules/emergency_measures.yaml)
PUBLIC_MEASURES = {"measure.public.yellow", "measure.public.orange", "measure.public.red"}

USES: dict[str, set[str]] = {  # citation id -> the rules (and data entries) audited to cite it
    "cn.air-law.2018.art2.p2": {"advice.attribution.regional", "advice.attribution.vocs-industry",
        "advice.o3-regime.nox-limited", "advice.o3-regime.transitional",
        "advice.o3-regime.voc-limited"},
    "cn.air-law.2018.art20.p2": {"task.hotspot.online-monitoring"},
    "cn.air-law.2018.art24": {"task.hotspot.online-monitoring"},
    "cn.air-law.2018.art25": {"task.hotspot.online-monitoring"},
    "cn.air-law.2018.art29": {"task.hotspot.nox", "task.hotspot.online-monitoring",
        "task.hotspot.patrol", "task.hotspot.patrol-dust", "task.hotspot.patrol-vocs",
        "task.hotspot.pm", "task.hotspot.so2", "task.hotspot.vocs", "task.hotspot.vocs-coating",
        "task.hotspot.vocs-ldar", "task.hotspot.vocs-storage"},
    "cn.air-law.2018.art30": {"task.hotspot.nox", "task.hotspot.vocs"},
    "cn.air-law.2018.art43": {"advice.attribution.industrial-combustion",
        "advice.o3-regime.nox-limited", "advice.o3-regime.transitional", "task.hotspot.nox",
        "task.hotspot.pm", "task.hotspot.so2"},
    "cn.air-law.2018.art45": {"advice.attribution.vocs-industry", "advice.o3-regime.transitional",
        "advice.o3-regime.voc-limited", "task.hotspot.patrol-vocs", "task.hotspot.vocs"},
    "cn.air-law.2018.art46": {"task.hotspot.vocs-coating"},
    "cn.air-law.2018.art47.p1": {"task.hotspot.vocs-ldar"},
    "cn.air-law.2018.art47.p2": {"task.hotspot.vocs-storage"},
    "cn.air-law.2018.art48": {"advice.attribution.industrial-combustion", "task.hotspot.pm"},
    "cn.air-law.2018.art51": {"advice.attribution.mobile"},
    "cn.air-law.2018.art53.p2": {"advice.attribution.mobile"},
    "cn.air-law.2018.art68": {"advice.attribution.dust"},
    "cn.air-law.2018.art69": {"advice.attribution.dust", "task.hotspot.patrol-dust"},
    "cn.air-law.2018.art70": {"advice.attribution.dust"},
    "cn.air-law.2018.art72": {"task.hotspot.patrol-dust"},
    "cn.air-law.2018.art77": {"advice.attribution.open-burning", "task.hotspot.patrol-dust"},
    "cn.air-law.2018.art82.p1": {"advice.attribution.open-burning"},
    "cn.air-law.2018.art86.p2": {"advice.attribution.regional"},
    "cn.air-law.2018.art91": {"advice.attribution.regional"},
    "cn.air-law.2018.art92": {"advice.attribution.regional"},
    "cn.air-law.2018.art95.p1": {"alert.heavy-pollution.blue", "alert.heavy-pollution.orange",
        "alert.heavy-pollution.red", "alert.heavy-pollution.yellow"},
    "cn.air-law.2018.art95.p2": {"advice.alert.health"},
    "cn.air-law.2018.art96": {*PUBLIC_MEASURES, "measure.emergency.art96-menu",
        "measure.emergency.reduction",
        "pollutant-handling.2024.pm2_5", "task.emergency.grade-a", "task.emergency.grade-b",
        "task.emergency.grade-c", "task.emergency.grade-d", "task.emergency.ungraded"},
    "cn.air-law.2018.art99.i2": {"task.hotspot.nox", "task.hotspot.so2"},
    "cn.air-law.2018.art99.i3": {"task.hotspot.online-monitoring"},
    "cn.air-law.2018.art100.i3": {"task.hotspot.online-monitoring"},
    "cn.air-law.2018.art108.i1": {"task.hotspot.vocs"},
    "cn.air-law.2018.art108.i2": {"task.hotspot.vocs-coating"},
    "cn.air-law.2018.art108.i3": {"task.hotspot.vocs-ldar"},
    "cn.air-law.2018.art108.i4": {"task.hotspot.vocs-storage"},
    "cn.air-law.2018.art108.i5": {"task.hotspot.pm"},
    "cn.air-law.2018.art115": {"task.hotspot.patrol-dust"},
    "cn.air-law.2018.art117": {"task.hotspot.patrol-dust", "task.hotspot.pm"},
    "cn.air-law.2018.art119.p1": {"task.hotspot.patrol-dust"},
    "cn.air-law.2018.art121.p2": {*PUBLIC_MEASURES, "measure.emergency.art96-menu"},
    "cn.ep-law.2014.art25": {"task.hotspot.nox", "task.hotspot.vocs"},
    "cn.mee.2017-alert-grading.grading": {"alert.heavy-pollution.blue",
        "alert.heavy-pollution.orange", "alert.heavy-pollution.red",
        "alert.heavy-pollution.yellow"},
    "cn.mee.2024-6.differentiated": {"advice.heavy-pollution.o3",
        "advice.heavy-pollution.other-cause", "alert.heavy-pollution.orange",
        "alert.heavy-pollution.red", "alert.heavy-pollution.yellow",
        "measure.emergency.reduction"},
    "cn.mee.2024-6.grading": {"alert.heavy-pollution.orange", "alert.heavy-pollution.red",
        "alert.heavy-pollution.yellow"},
    "zj.air-reg.2020.art17.p1": {"task.hotspot.online-monitoring"},
    "zj.air-reg.2020.art17.p4": {"task.hotspot.online-monitoring"},
    "zj.air-reg.2020.art20": {"task.hotspot.nox", "task.hotspot.online-monitoring",
        "task.hotspot.patrol", "task.hotspot.patrol-vocs", "task.hotspot.pm", "task.hotspot.so2",
        "task.hotspot.vocs", "task.hotspot.vocs-coating", "task.hotspot.vocs-ldar",
        "task.hotspot.vocs-storage"},
    "zj.air-reg.2020.art34": {"advice.attribution.industrial-combustion", "task.hotspot.pm"},
    "zj.air-reg.2020.art34.p1": {"advice.o3-regime.nox-limited", "advice.o3-regime.transitional",
        "task.hotspot.nox", "task.hotspot.so2"},
    "zj.air-reg.2020.art34.p2": {"advice.attribution.vocs-industry"},
    "zj.air-reg.2020.art42": {"advice.attribution.dust", "task.hotspot.patrol-dust"},
    "zj.air-reg.2020.art43.p1": {"advice.attribution.dust"},
    "zj.air-reg.2020.art46.p1": {"advice.attribution.open-burning", "task.hotspot.patrol-dust"},
    "zj.air-reg.2020.art47": {"advice.attribution.regional"},
    "zj.air-reg.2020.art48": {"advice.attribution.regional"},
    "zj.air-reg.2020.art54.p1": {"alert.heavy-pollution.orange", "alert.heavy-pollution.red",
        "alert.heavy-pollution.yellow"},
    "zj.air-reg.2020.art54.p2": {"advice.alert.health"},
    "zj.air-reg.2020.art55": {"measure.emergency.art96-menu"},
    "zj.air-reg.2020.art55.i2": {"measure.public.orange", "measure.public.red"},
    "zj.air-reg.2020.art55.i3": PUBLIC_MEASURES,
    "zj.air-reg.2020.art55.i4": PUBLIC_MEASURES,
    "zj.air-reg.2020.art55.i5": {"measure.public.red"},
    "zj.air-reg.2020.art55.i1": {"measure.emergency.reduction", "task.emergency.grade-a",
        "task.emergency.grade-b", "task.emergency.grade-c", "task.emergency.grade-d",
        "task.emergency.ungraded"},
    "zj.air-reg.2020.art68": {*PUBLIC_MEASURES, "measure.emergency.art96-menu"},
    "zj.vehicle-reg.2020.art10.p3": {"measure.public.orange", "measure.public.red",
                                     "measure.emergency.art96-menu"},
    "zj.vehicle-reg.2020.art26": {"advice.attribution.mobile"},
    "zj.vehicle-reg.2020.art27": {"advice.attribution.mobile"},
    "hz.air-reg.2016.art28.p1": {"measure.emergency.art96-menu"},
    "cn.mee.tech-guide.2020.purpose": {"task.emergency.grade-a", "task.emergency.grade-b",
        "task.emergency.grade-c", "task.emergency.grade-d"},
    "cn.state-council.2023-24.guiding-thought": {"advice.o3-regime.nox-limited",
        "advice.o3-regime.transitional", "advice.o3-regime.voc-limited"},
}

# measure types whose legal ground is the Air Law's emergency-measure article (FACTS §3.A,
# §4.1: PM2.5 episodes -> art. 96), not a neighbouring article of chapter 6.
ART96_MEASURES = {"EmergencyEmissionReduction", "SelfDirectedReduction", "LimitProduction",
                  "StopPartialLines", "StopProduction", "RestrictVehicles", "BanFireworks",
                  "StopEarthworksDemolition", "StopOpenAirBarbecue",
                  "SuspendOutdoorSchoolActivities"}

# names that tell which law a 第X条 in free text belongs to (the one named last before it)
LAW_NAMES = {
    "cn.air-law.2018": ("大气法", "大气污染防治法》"),
    "cn.ep-law.2014": ("环境保护法", "环保法"),
    "zj.air-reg.2020": ("浙江省大气污染防治条例", "省条例"),
    "zj.vehicle-reg.2020": ("机动车排气污染防治条例",),
    "hz.air-reg.2016": ("杭州市大气污染防治规定", "杭州规定"),
}
NUM = "零一二三四五六七八九十百千两"
MENTION = re.compile(rf"第([{NUM}]+)((?:、[{NUM}]+)*)条(?:第([{NUM}]+)款)?")


@cache
def _statute(regulation_id: str) -> dict[int, list[str]]:
    """Article number -> its lines, straight from the mirror's HTML anchors."""
    src = (STATUTES / TEXT_FILES[regulation_id]).read_text(encoding="utf-8")
    out: dict[int, list[str]] = {}
    for n, body in re.findall(r'<p id="t(\d+)">(.*?)</p>', src, re.S):
        body = re.sub(r"^.*?<b>第[^<]*条</b>", "", body, count=1, flags=re.S)
        lines = [html.unescape(re.sub(r"<[^>]+>", "", part)).strip().strip("\u2003 ")
                 for part in re.split(r"<br\s*/?>", body)]
        out[int(n)] = [line for line in lines if line]
    return out


@cache
def _plain_statute(regulation_id: str) -> dict[int, list[str]]:
    """Article number -> its lines, from a plain-text statute (第X条 + full-width space)."""
    out: dict[int, list[str]] = {}
    current: list[str] | None = None
    for raw in (STATUTES / PLAIN_FILES[regulation_id]).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        m = re.match(rf"^第([{NUM}]+)条　(.*)$", line)
        if m:
            current = out.setdefault(parse_cn_int(m[1]), [m[2]])
        elif re.match(rf"^第[{NUM}]+[章节编]", line):
            current = None  # a heading ends the article
        elif line and current is not None:
            current.append(line)
    return out


def _article_lines(regulation_id: str, number: int) -> list[str]:
    if regulation_id in PLAIN_FILES:
        return _plain_statute(regulation_id)[number]
    return _statute(regulation_id)[number]


@cache
def _policy_provisions() -> dict[str, str]:
    out = {}
    for name in POLICY_SIDECARS:
        meta = yaml.safe_load((STATUTES / name).read_text(encoding="utf-8"))
        for p in meta.get("provisions") or []:
            out[f"{meta['id']}.{p['key']}"] = p["text"]
    return out


def cited_text(citation: str) -> str:
    """The words a citation id points at (an item together with its lead-in paragraph)."""
    if citation in _policy_provisions():
        return _policy_provisions()[citation]
    m = re.fullmatch(r"([a-z]+\.[a-z-]+\.\d{4})\.art(\d+)(?:\.p(\d+))?(?:\.i(\d+))?",
                     citation)
    assert m, f"not an article citation: {citation}"
    lines = _article_lines(m[1], int(m[2]))
    paras: list[tuple[str, list[str]]] = []
    for line in lines:
        if re.match(r"[（(][一二三四五六七八九十]+[)）]", line):
            paras[-1][1].append(line)
        else:
            paras.append((line, []))
    p, i = (int(m[3]) if m[3] else None), (int(m[4]) if m[4] else None)
    if p is None and i is None:
        return "\n".join(lines)
    if i is None:  # a paragraph with the items listed under it (as the loader resolves it)
        return "\n".join([paras[p - 1][0], *paras[p - 1][1]])
    owners = [paras[p - 1]] if p else [q for q in paras if len(q[1]) >= i]
    assert len(owners) == 1, f"{citation}: item {i} is ambiguous or missing"
    lead, items = owners[0]
    return lead + "\n" + items[i - 1]


def _walk(node: Any, on_citations, on_text, escalation: bool = False) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "legal_basis":
                on_citations(value)
            else:
                _walk(value, on_citations, on_text, escalation or key == "escalation")
    elif isinstance(node, list):
        for value in node:
            _walk(value, on_citations, on_text, escalation)
    elif isinstance(node, str):
        on_text(node)


def _rules() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in RULES:
        for rule in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]:
            out.append((f"{path.name}:{rule['id']}@{rule['version']}", rule))
    return out


def _citations_of(rule: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    _walk(rule, found.update, lambda _s: None)
    return found


def _uses() -> dict[str, set[str]]:
    """Citation id -> the rule ids (and alert-grading data entries) that cite it."""
    uses: dict[str, set[str]] = {}
    for _, rule in _rules():
        for c in _citations_of(rule):
            uses.setdefault(c, set()).add(rule["id"])
    grading = yaml.safe_load((ROOT / "knowledge/standards/alert_grading.yaml").read_text("utf-8"))
    for h in grading["pollutant_handling"]:
        for c in h.get("legal_basis") or []:
            uses.setdefault(c, set()).add(h["id"])
    return uses


def _mentions(text: str) -> list[tuple[str, int, int | None]]:
    """(regulation id, article, paragraph) for every 第X条(第Y款) named in free text."""
    out = []
    for m in MENTION.finditer(text):
        before = text[: m.start()]  # the law named last before the article; default: Air Law
        named = {reg: max(before.rfind(name) for name in names)
                 for reg, names in LAW_NAMES.items()}
        reg = max(named, key=lambda r: named[r])
        reg = reg if named[reg] >= 0 else "cn.air-law.2018"
        numbers = [m[1]] + [n for n in m[2].split("、") if n]
        for k, n in enumerate(numbers):
            para = parse_cn_int(m[3]) if m[3] and k == len(numbers) - 1 else None
            out.append((reg, parse_cn_int(n), para))
    return out


def test_register_covers_every_citation_the_rule_base_makes() -> None:
    uses = _uses()
    assert len(uses) >= 40 and set(USES) == set(REGISTER)
    unaudited = sorted(f"{rule} cites {c}" for c, rules in uses.items()
                       for rule in rules - USES.get(c, set()))
    assert unaudited == [], (
        f"citations not audited: {unaudited} — read the provision, check it supports what the "
        "rule does, then add the rule to USES (and the words that justify the provision to "
        "REGISTER) in tests/test_citation_audit.py")
    stale = sorted(f"{rule} no longer cites {c}" for c, rules in USES.items()
                   for rule in rules - uses.get(c, set()))
    assert stale == [], "stale audit entries: remove them"


@pytest.mark.parametrize("citation", sorted(REGISTER))
def test_cited_provision_says_what_it_is_cited_for(citation: str) -> None:
    text = cited_text(citation)
    for words in REGISTER[citation]:
        assert words in text, f"{citation} does not say {words!r}; its text: {text}"


def test_independent_parse_matches_the_article_counts_and_labels() -> None:
    assert sorted(_statute("cn.air-law.2018")) == list(range(1, 130))
    assert sorted(_statute("cn.ep-law.2014")) == list(range(1, 71))
    for name in TEXT_FILES.values():
        src = (STATUTES / name).read_text(encoding="utf-8")
        pairs = re.findall(r'<p id="t(\d+)">[^<]*<b>第([^<]*)条</b>', src)
        assert pairs and all(int(n) == parse_cn_int(zh) for n, zh in pairs), name


def _measure_types(rule: dict) -> set[str]:
    """The measure types a rule's conclusions order."""
    return {body["measure_type"] for action in rule.get("then") or []
            for body in action.values() if isinstance(body, dict) and body.get("measure_type")}


def test_enterprise_cuts_and_emergency_measures_cite_the_emergency_article() -> None:
    """Production cuts during an alert rest on Air Law art. 96, never on art. 95 or 97."""
    wrong = []
    for where, rule in _rules():
        types = _measure_types(rule)
        if types & ART96_MEASURES and "cn.air-law.2018.art96" not in rule["legal_basis"]:
            wrong.append(f"{where}: {sorted(types & ART96_MEASURES)} without art96")
    assert wrong == []


def test_articles_named_in_rule_texts_are_the_ones_the_rule_cites() -> None:
    problems = []
    for where, rule in _rules():
        cited = _citations_of(rule)
        texts: list[str] = []
        _walk(rule, lambda _c: None, texts.append)
        cited_words = "\n".join(cited_text(c) for c in cited)
        cited_articles = {re.sub(r"\.[pi]\d+", "", c) for c in cited}
        for text in texts:
            for reg, art, para in _mentions(text):
                aid = f"{reg}.art{art}"
                ok = (f"{aid}.p{para}" in cited or aid in cited) if para else (
                    aid in cited_articles)
                if not ok and not _named_in(cited_words, reg, art):
                    problems.append(f"{where}: names {aid}{f'.p{para}' if para else ''} "
                                    f"in {text[:60]!r} but cites {sorted(cited)}")
    assert problems == []


def _named_in(cited_words: str, reg: str, art: int) -> bool:
    return any(r == reg and a == art for r, a, _ in _mentions(cited_words))


def test_articles_named_in_the_ontology_exist() -> None:
    ttl = (ROOT / "ontology/ecobrain.ttl").read_text(encoding="utf-8")
    named = [m for c in re.findall(r'"([^"]*大气法[^"]*)"@zh', ttl) for m in _mentions(c)]
    assert len(named) >= 8
    for reg, art, _para in named:
        assert _statute(reg).get(art), f"ecobrain.ttl names {reg} art. {art}: no such article"


def test_ontology_comments_name_the_right_articles() -> None:
    """Each article the ontology's comments name says what the comment claims."""
    ttl = (ROOT / "ontology/ecobrain.ttl").read_text(encoding="utf-8")
    claims = {  # words of the comment -> (article, words of the article)
        "按大气法第九十六条启动应急减排": (96, "责令有关企业停产或者限产"),
        "油气回收（大气法第四十七条）": (47, "油气回收装置"),
        "（大气法第七十七条、第八十二条）": (77, "禁止露天焚烧秸秆、落叶"),
        "启动应急预案后可采取的措施（大气法第九十六条）": (96, "及时启动应急预案"),
        "引导公众采取健康防护措施（大气法第九十五条": (95, "告知公众采取健康防护措施"),
        "减少物料泄漏（大气法第四十七条）": (47, "减少物料泄漏"),
        "自动监测数据的真实性和准确性（大气法第二十四、二十五条）": (
            25, "自动监测数据的真实性和准确性"),
        "遥感监测对在用机动车抽测（大气法第五十三条）": (53, "遥感监测"),
    }
    for comment, (art, words) in claims.items():
        assert comment in ttl, f"ontology comment changed: {comment!r}; update this test"
        assert words in "\n".join(_statute("cn.air-law.2018")[art]), (comment, art, words)
    assert "焚烧沥青、油毡、橡胶、塑料、皮革、垃圾" in "".join(_statute("cn.air-law.2018")[82])


def test_plain_statutes_parse_into_the_expected_articles() -> None:
    assert sorted(_plain_statute("zj.air-reg.2020")) == list(range(1, 72))
    assert sorted(_plain_statute("hz.air-reg.2016")) == [1, 10, 28, 29, 40]
    assert sorted(_plain_statute("zj.vehicle-reg.2020")) == [1, 10, 26, 27]
    assert _plain_statute("zj.air-reg.2020")[55][0].startswith("县级以上人民政府应当根据重污染")
    assert len(_plain_statute("zj.air-reg.2020")[55]) == 7  # lead-in and items (一)-(六)


def test_emergency_measures_also_rest_on_the_zhejiang_emergency_article() -> None:
    """Art. 96 of the Air Law is reportedly repealed from 2026-08-15: every rule still in force
    then that orders emergency measures also cites the Zhejiang regulation's art. 55."""
    missing = []
    for where, rule in _rules():
        types = _measure_types(rule)
        ends = rule.get("effective_to")
        if types & ART96_MEASURES and (ends is None or str(ends) >= "2026-08-15") and not any(
                c.startswith("zj.air-reg.2020.art55") for c in rule["legal_basis"]):
            missing.append(where)
    assert missing == []
