"""The portal's work forms: what a person typed becomes the API's body unchanged but for
empty inputs, and each refusal comes back at the input it names."""

from __future__ import annotations

from starlette.datastructures import FormData

from services.portal.entry_form import entry_body, inputs_of
from services.portal.exceptions import ApiProblem
from services.portal.forms import FORM, field_errors, words
from services.portal.sharing import narrowed_terms

PROBLEMS = "https://govshare.example/problems"


def test_a_refusal_without_its_reason_is_told_at_the_reason() -> None:
    problem = ApiProblem.from_body(422, {
        "type": f"{PROBLEMS}/sharing-rule-violation", "status": 422, "field": "reason",
        "rule": "A2", "detail": "A refusal must state its reason."})
    assert field_errors(problem, ("reason",)) == {"reason": "拒绝共享必须说明理由（A2）。"}


def test_a_nested_input_is_told_at_the_input_it_lies_in() -> None:
    problem = ApiProblem.from_body(422, {
        "type": f"{PROBLEMS}/validation-error", "status": 422, "errors": [
            {"field": "body.row_filter.0.values.0", "code": "string_too_short"},
            {"field": "body.rate_limit_per_minute", "code": "int_parsing"}]})
    errors = field_errors(problem, ("items", "row_filter", "rate_limit_per_minute"))
    assert errors == {"row_filter": "内容太短。", "rate_limit_per_minute": "请填写整数。",
                      FORM: "填写的内容不符合要求。"}


def test_a_rule_naming_an_item_by_index_is_told_at_that_items_input() -> None:
    problem = ApiProblem.from_body(422, {
        "type": f"{PROBLEMS}/catalog-rule-violation", "status": 422,
        "field": "items[1].share_type", "rule": "C3"})
    assert field_errors(problem, ("items.1.share_type", "items.0.share_type")) == {
        "items.1.share_type": "基础信息资源的基础信息项必须无条件共享（C3）。"}


def test_a_problem_naming_no_input_of_the_form_is_told_above_it() -> None:
    problem = ApiProblem.from_body(409, {"type": f"{PROBLEMS}/illegal-transition",
                                         "status": 409})
    assert field_errors(problem, ("reason",)) == {FORM: "当前状态下不能进行此操作。"}


def test_an_approval_sends_the_items_kept_and_only_the_terms_filled() -> None:
    form = FormData([("items", "GMSFHM"), ("row_item", "GMSFHM"), ("row_op", "prefix"),
                     ("row_values", "320102， 320104、320105"), ("row_item", ""),
                     ("row_op", "in"), ("row_values", ""), ("rate_limit_per_minute", ""),
                     ("valid_until", "2027-06-30")])
    assert narrowed_terms(form) == {
        "items": ["GMSFHM"], "valid_until": "2027-06-30",
        "row_filter": [{"item": "GMSFHM", "op": "prefix",
                        "values": ["320102", "320104", "320105"]}]}
    assert narrowed_terms(FormData([]))["items"] == []  # none kept: the API refuses it


def test_values_typed_in_one_box_are_split_the_ways_people_separate_them() -> None:
    assert words(" 3201, 3202，3203、3204 3205;3206 ") == [
        "3201", "3202", "3203", "3204", "3205", "3206"]


def test_an_entrys_form_sends_the_filled_rows_in_order_and_what_was_typed() -> None:
    form = FormData([
        ("classification.top", "base"), ("classification.item", "01"), ("name", "人口基础信息"),
        ("abstract", ""), ("format.kind", "database"), ("update_cycle", "daily"),
        ("items.0.name", ""), ("items.0.code", ""), ("items.0.share_type", ""),
        ("items.1.name", "公民身份号码"), ("items.1.code", "GMSFHM"), ("items.1.data_type", "C"),
        ("items.1.length", "18"), ("items.1.share_type", "unconditional"),
        ("items.1.is_base_item", "on"), ("share.type", "unconditional"),
        ("share.methods", "online_query"), ("share.channel", "platform"),
        ("related_codes", "101001/000001 101001/000002")])
    body = entry_body(form)
    assert body["classification"] == {"top": "base", "item": "01"}
    assert "abstract" not in body  # left empty: the API says it is needed
    assert body["items"] == [{"name": "公民身份号码", "code": "GMSFHM", "data_type": "C",
                              "length": "18", "share_type": "unconditional",
                              "identifies_subject": False, "is_base_item": True}]
    assert body["share"] == {"type": "unconditional", "channel": "platform",
                             "methods": ["online_query"], "sensitive": False}
    assert body["open"] == {"is_open": False}
    assert body["related_codes"] == ["101001/000001", "101001/000002"]


def test_an_item_held_back_sends_its_own_legal_basis_and_hears_c2_at_its_row() -> None:
    form = FormData([
        ("items.0.name", "宗地编号"), ("items.0.code", "ZDBM"),
        ("items.0.share_type", "unconditional"),
        ("items.0.legal_basis.kind", ""), ("items.0.legal_basis.title", ""),
        ("items.1.name", "界址点坐标"), ("items.1.code", "JZDZB"),
        ("items.1.share_type", "not_shared"), ("items.1.legal_basis.kind", "law"),
        ("items.1.legal_basis.title", "《中华人民共和国测绘法》第三十四条")])
    first, second = entry_body(form)["items"]
    assert "legal_basis" not in first
    assert second["legal_basis"] == {"kind": "law", "title": "《中华人民共和国测绘法》第三十四条"}
    problem = ApiProblem.from_body(422, {
        "type": f"{PROBLEMS}/catalog-rule-violation", "status": 422,
        "field": "items[1].legal_basis", "rule": "C2"})
    assert field_errors(problem, inputs_of({"items": [first, second]})) == {
        "items.1.legal_basis": "不予共享须列明法律、行政法规或党中央、国务院政策依据（C2）。"}
