"""Receptive fields (issue 4): seeds, published values, branches, 'global', and the ``rf`` command.

Every expected number is worked by hand from the definitions (Araujo, Norris & Sim, Distill 2019):
per axis, a unit of the output sees input coordinates [−P + i·S, −P + i·S + r − 1], with
r = 1 + Σ (k_l − 1)·∏_{m<l} s_m, S = ∏ s_l and P = Σ p_l·∏_{m<l} s_m (k the dilated kernel, p the
left padding). Published values are from TF-slim's nets as listed by google-research/receptive_field.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc.cli import cli
from cnncalc.render import rf_text


def conv(k, s=1, p=0, d=1, name=None, frm=None, out=4):
    item = {"conv": {"out": out, "kernel": k, "stride": s, "padding": p, "dilation": d}}
    return _named(item, name, frm)


def pool(k, s=None, p=0, name=None, frm=None, kind="maxpool"):
    return _named({kind: {"kernel": k, "stride": s if s is not None else k, "padding": p}}, name, frm)


def _named(item, name, frm):
    if name:
        item["name"] = name
    if frm:
        item["from"] = frm
    return item


def net(layers, size=224, channels=3, rank=2):
    return {"name": "t", "input": [channels, *([size] * rank)], "layers": layers}


def field(spec, layer=None):
    report = cnncalc.analyze(spec)
    s = report.layers[-1] if layer is None else report.layer(layer)
    return s.rf_dict(), [w for w in report.warnings if w.kind == "rf"]


def square(size, stride, padding, rank=2):
    return {"size": [size] * rank, "stride": [stride] * rank, "padding": [padding] * rank}


# ---- worked examples from the seeds --------------------------------------------------------------


def test_two_3x3_convs_on_7x7_see_5x5():
    report = cnncalc.analyze(net([conv(3), conv(3)], size=7))
    last = report.layers[-1]
    assert last.output_shape == (1, 4, 3, 3)
    assert last.rf_dict() == square(5, 1, 0)
    for i in range(3):  # unit (i, j) sees rows i..i+4 and columns j..j+4
        assert last.receptive_field.region((i, 2 - i)) == ((i, i + 4), (2 - i, 6 - i))


@pytest.mark.parametrize("k", [1, 2, 3, 5, 7, 11])
@pytest.mark.parametrize("p", [2, 3, 4])
@pytest.mark.parametrize("pool_stride", ["kernel", 1])
def test_conv_then_pool_sees_p_plus_k_minus_1(k, p, pool_stride):
    s = p if pool_stride == "kernel" else 1
    got, _ = field(net([conv(k), pool(p, s)], size=32))
    assert got == square(p + k - 1, s, 0)


# ---- published values: TF-slim nets to their end points --------------------------------------------


def vgg16_slim():
    """TF-slim vgg_16 to pool5: 3×3 convs 'SAME' (pad 1), 2×2 max pools stride 2 'VALID'."""
    layers = []
    for block, n in enumerate([2, 2, 3, 3, 3], start=1):
        layers += [conv(3, p=1, name=f"conv{block}_{i + 1}") for i in range(n)]
        layers.append(pool(2, 2, name=f"pool{block}"))
    return net(layers)


def alexnet_v2_slim():
    """TF-slim alexnet_v2 to pool5 (research/slim/nets/alexnet.py with alexnet_v2_arg_scope):
    conv 64@11 s4 'VALID'; maxpool 3 s2 'VALID'; conv 192@5 'SAME'; maxpool 3 s2; conv 384@3,
    conv 384@3, conv 256@3 'SAME'; maxpool 3 s2. 'SAME' with stride 1 pads (k−1)/2 on each side."""
    return net([
        conv(11, 4, 0, out=64, name="conv1"), pool(3, 2, name="pool1"),
        conv(5, 1, 2, out=192, name="conv2"), pool(3, 2, name="pool2"),
        conv(3, 1, 1, out=384, name="conv3"), conv(3, 1, 1, out=384, name="conv4"),
        conv(3, 1, 1, out=256, name="conv5"), pool(3, 2, name="pool5"),
    ])


@pytest.mark.parametrize(("spec", "layer", "expected"), [
    (vgg16_slim(), "pool5", (212, 32, 90)),  # published
    (vgg16_slim(), "pool4", (100, 16, 42)),  # by hand: 44 + 3·2·8 = 92, +1·16 = 100; P 18 + 3·8 = 42
    (vgg16_slim(), "pool1", (6, 2, 2)),
    (alexnet_v2_slim(), "pool5", (195, 32, 64)),  # published
    (alexnet_v2_slim(), "pool2", (67, 16, 16)),  # by hand: 11 → 19 → 51 → 67; P = 2·8
    (alexnet_v2_slim(), "conv1", (11, 4, 0)),
], ids=["vgg16-pool5", "vgg16-pool4", "vgg16-pool1", "alexnet_v2-pool5", "alexnet_v2-pool2", "alexnet_v2-conv1"])
def test_published_fields(spec, layer, expected):
    got, warnings = field(spec, layer)
    assert got == square(*expected)
    assert warnings == []


@pytest.mark.parametrize(("n", "expected"), [(1, (3, 1)), (2, (7, 3)), (3, (15, 7))])
def test_dilated_stack_grows_3_7_15(n, expected):
    layers = [conv(3, p=d, d=d) for d in (1, 2, 4)[:n]]
    report = cnncalc.analyze(net(layers, size=32))
    assert report.layers[-1].output_shape[2:] == (32, 32)  # padded to keep the size
    assert report.layers[-1].rf_dict() == square(expected[0], 1, expected[1])


# ---- single layers: dilation, 'same' padding, per-axis arguments, 1-D and 3-D --------------------


@pytest.mark.parametrize(("layer", "expected"), [
    (conv(3, 2, 1, d=2), (5, 2, 1)),  # dilated kernel 2·(3−1)+1 = 5
    (conv(4, p="same"), (4, 1, 1)),  # torch 'same': total 3, left gets 1
    (conv(4, p="same", d=3), (10, 1, 4)),  # total 9, left 4
    (conv(5, p="valid"), (5, 1, 0)),
    ({"maxpool": {"kernel": 3, "stride": 2, "padding": 1, "dilation": 2}}, (5, 2, 1)),
    ({"avgpool": {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}}, (3, 2, 1)),
    ({"maxpool": {"kernel": 2}}, (2, 2, 0)),  # stride defaults to the kernel
])
def test_single_layer(layer, expected):
    got, _ = field(net([layer], size=20))
    assert got == square(*expected)


def test_per_axis_arguments_are_independent():
    got, _ = field(net([
        {"conv": {"out": 2, "kernel": [1, 7], "padding": [0, 3], "stride": [2, 1]}},
        conv(3, p=1),
    ], size=20))
    # H: r 1 → 1 + 2·2 = 5, S 2, P 0 + 1·2 = 2.  W: r 7 → 9, S 1, P 3 + 1 = 4.
    assert got == {"size": [5, 9], "stride": [2, 1], "padding": [2, 4]}


@pytest.mark.parametrize("rank", [1, 3])
def test_other_ranks_have_one_value_per_axis(rank):
    got, _ = field(net([conv(3, 2, 1), conv(3, p=1)], size=16, rank=rank))
    assert got == square(7, 2, 3, rank=rank)


# ---- branches: skip connections, Inception, misalignment ----------------------------------------


def test_resnet_identity_block_is_aligned():
    got, warnings = field(net([
        conv(3, p=1, name="stem"),
        conv(3, p=1, name="a"), conv(3, p=1, name="b"),
        {"add": None, "from": ["stem", "b"]},
    ], size=16))
    assert got == square(7, 1, 3)  # the longest path: three 3×3 convs
    assert warnings == []


def test_resnet_downsampling_block_is_aligned():
    # body 3×3 s2 p1 then 3×3 p1: r 3 + 2·2 = 7, S 2, P 1 + 1·2 = 3, centre (7−1)/2 − 3 = 0;
    # shortcut 1×1 s2: r 1, S 2, P 0, centre 0. Aligned: the body's field.
    got, warnings = field(net([
        conv(3, 2, 1, name="a"), conv(3, 1, 1, name="b"),
        conv(1, 2, 0, name="down", frm="input"),
        {"add": None, "from": ["b", "down"]},
    ], size=16))
    assert got == square(7, 2, 3)
    assert warnings == []


def test_resnet_spec_through_blocks():
    spec = {
        "name": "r", "input": [3, 32, 32],
        "layers": [
            conv(7, 2, 3, name="stem"), pool(3, 2, 1, name="pool"),
            {"residual": {
                "body": [conv(3, 2, 1), {"batchnorm": None}, {"relu": None}, conv(3, 1, 1)],
                "shortcut": [conv(1, 2, 0)],
            }, "name": "block"},
            {"relu": None, "name": "out"},
        ],
    }
    # stem 7/2/3; pool 7 + 2·2 = 11, S 4, P 3 + 1·2 = 5; body 3×3 s2 p1: 11 + 2·4 = 19, S 8,
    # P 5 + 4 = 9; 3×3 p1: 19 + 2·8 = 35, P 9 + 8 = 17. Shortcut 1×1 s2: r 11, S 8, P 5; centres
    # (35−1)/2 − 17 = 0 and (11−1)/2 − 5 = 0: aligned.
    got, warnings = field(spec, "out")
    assert got == square(35, 8, 17)
    assert warnings == []


def test_inception_concat_takes_the_largest_branch():
    got, warnings = field(net([
        conv(1, name="b1", frm="input"),
        conv(1, name="b2a", frm="input"), conv(3, p=1, name="b2"),
        conv(5, p=2, name="b3", frm="input"),
        pool(3, 1, 1, name="b4a", frm="input"), conv(1, name="b4"),
        {"concat": None, "from": ["b1", "b2", "b3", "b4"]},
    ], size=16))
    assert got == square(5, 1, 2)
    assert warnings == []


@pytest.mark.parametrize(("body", "shortcut", "text"), [
    # centres: body 2×2 s2 (2−1)/2 − 0 = 0.5, shortcut 1×1 s2: 0 (both 8 → 4)
    ([conv(2, 2, 0, name="b")], conv(1, 2, 0, name="s", frm="input"), "centres differ"),
    # strides: body 5×5 s1 on 8 → 4 (S 1), shortcut 1×1 s2 on 8 → 4 (S 2)
    ([conv(5, 1, 0, name="b")], conv(1, 2, 0, name="s", frm="input"), "strides differ"),
])
def test_misaligned_branches_warn(body, shortcut, text):
    spec = net([*body, shortcut, {"add": None, "from": ["b", "s"], "name": "sum"}], size=8)
    got, warnings = field(spec, "sum")
    assert len(warnings) == 2  # one per axis
    assert all(text in w.message and w.layer == "sum" for w in warnings)
    assert got["size"] == [body[0]["conv"]["kernel"]] * 2  # the largest path's


def test_misaligned_paths_keep_the_largest_overall_and_the_union_region():
    # 1-D, input 24. j1 = x + conv1×1 p6(pool1 s2 (x)): paths (r, S, P) = (1, 1, 0) and (1, 2, 12),
    # strides differ. j2 = j1 + conv2 'same' (left pad 0)(j1): paths (1,1,0), (1,2,12), (2,1,0) and
    # (1 + 1·2, 2, 12) = (3, 2, 12). The largest over all paths is 3, stride 2, padding 12 (taking the
    # largest input at j1 instead would give 2). Unit 20 sees 20..20, 28..28, 20..21 and 28..30.
    spec = {"input": [1, 24], "layers": [
        {"maxpool": {"kernel": 1, "stride": 2}, "name": "p", "from": "input"},
        {"conv": {"out": 1, "kernel": 1, "padding": 6}, "name": "q"},
        {"add": None, "from": ["input", "q"], "name": "j1"},
        {"conv": {"out": 1, "kernel": 2, "padding": "same"}, "name": "c"},
        {"add": None, "from": ["j1", "c"], "name": "j2"},
    ]}
    report = cnncalc.analyze(spec)
    j2 = report.layer("j2")
    assert j2.rf_dict() == {"size": [3], "stride": [2], "padding": [12]}
    assert j2.receptive_field.region((20,)) == ((20, 30),)
    assert j2.receptive_field.region((0,)) == ((-12, 1),)
    assert {w.layer for w in report.warnings if w.kind == "rf"} == {"j1", "j2"}


# ---- global fields ---------------------------------------------------------------------------------


GLOBAL_TAIL = net([
    conv(3, p=1, name="c"), {"adaptiveavgpool": {"out": 1}, "name": "gap"},
    {"flatten": None, "name": "flat"}, {"linear": {"out": 3}, "name": "fc"},
], size=8)


@pytest.mark.parametrize("layer", ["gap", "flat", "fc"])
def test_global_after_global_pooling_flatten_linear(layer):
    report = cnncalc.analyze(GLOBAL_TAIL)
    s = report.layer(layer)
    assert s.rf_dict() is None
    assert rf_text(s) == "global"
    d = next(x for x in report.to_dict()["layers"] if x["name"] == layer)
    assert d["receptive_field"] is None and d["receptive_field_global"] is True


def test_flatten_straight_after_convs_is_global():
    report = cnncalc.analyze(net([conv(3), {"flatten": None}], size=6))
    assert report.layers[-1].receptive_field == "global"
    assert report.to_dict()["layers"][-1]["receptive_field"] is None


def test_squeeze_excitation_gate_makes_the_field_global():
    # The gate (global pooling → 1×1 convs) multiplies every position: each output's gradient
    # reaches the whole input.
    report = cnncalc.analyze(net([
        conv(3, p=1, name="x"),
        {"adaptiveavgpool": {"out": 1}}, conv(1, out=2), {"relu": None}, conv(1), {"sigmoid": None, "name": "g"},
        {"mul": None, "from": ["x", "g"], "name": "se"},
        conv(3, p=1, name="after"),
    ], size=8))
    assert report.layer("x").rf_dict() == square(3, 1, 1)
    assert report.layer("se").receptive_field == "global"
    assert report.layer("after").receptive_field == "global"


@pytest.mark.parametrize(("n", "out", "expected"), [
    # after a 3×3 p1 conv (3/1/1), uniform bins are a pool with kernel = stride = n/out:
    (8, 4, (4, 2, 1)),  # 3 + (2−1)·1 = 4
    (8, 8, (3, 1, 1)),  # kernel 1: unchanged
    (8, 2, (6, 4, 1)),  # 3 + (4−1)·1 = 6
])
def test_adaptive_pool_with_uniform_bins_is_a_pool(n, out, expected):
    got, _ = field(net([conv(3, p=1), {"adaptiveavgpool": {"out": out}}], size=n))
    assert got == square(*expected)


def test_adaptive_pool_with_uneven_bins_has_no_field():
    report = cnncalc.analyze(net([conv(3, p=1), {"adaptiveavgpool": {"out": 3}}, conv(1, name="c")], size=7))
    assert report.layer("c").receptive_field is None
    assert report.to_dict()["layers"][-1]["receptive_field"] is None


def test_elementwise_and_batchnorm_change_nothing():
    report = cnncalc.analyze(net([
        conv(3, 2, 1, name="c"), {"batchnorm": None}, {"relu": None}, {"dropout": None}, {"sigmoid": None},
    ], size=9))
    assert {s.name: s.rf_dict() == square(3, 2, 1) for s in report.layers} == dict.fromkeys(
        [s.name for s in report.layers], True)


# ---- the `cnncalc rf` command -------------------------------------------------------------------


def write(tmp_path, spec):
    path = tmp_path / "net.yaml"
    path.write_text(json.dumps(spec))  # JSON is YAML
    return str(path)


def rf_json(*args):
    result = CliRunner().invoke(cli, ["rf", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


STRIDED = net([conv(3, 2, 1, name="a"), conv(3, 1, 1, name="b")], size=9)  # 9 → 5 → 5; r 7, S 2, P 3


@pytest.mark.parametrize(("unit", "region", "clipped"), [
    (None, [[1, 7], [1, 7]], [[1, 7], [1, 7]]),  # the centre unit (2, 2): −3 + 2·2 = 1 .. 1 + 6
    ("0,4", [[-3, 3], [5, 11]], [[0, 3], [5, 8]]),
    ("4,0", [[5, 11], [-3, 3]], [[5, 8], [0, 3]]),
    ("1,3", [[-1, 5], [3, 9]], [[0, 5], [3, 8]]),
])
def test_cli_unit_region(tmp_path, unit, region, clipped):
    args = [write(tmp_path, STRIDED)] + (["--unit", unit] if unit else [])
    out, _ = rf_json(*args)
    assert out["unit"]["layer"] == "b"
    assert out["unit"]["region"] == region
    assert out["unit"]["clipped"] == clipped
    rows = {r["name"]: r for r in out["layers"]}
    assert rows["a"]["receptive_field"] == {
        "size": [3, 3], "stride": [2, 2], "padding": [1, 1], "centre": [0, 0], "paths": None}
    assert rows["b"]["receptive_field"]["size"] == [7, 7]
    assert rows["b"]["coverage"] == [round(7 / 9, 6)] * 2


def test_cli_layer_option_picks_the_layer(tmp_path):
    out, _ = rf_json(write(tmp_path, STRIDED), "--layer", "a", "--unit", "4,4")
    exact = {"region": [[7, 8], [7, 8]], "positions": [[[7, 8]], [[7, 8]]], "mixes": None, "exact": True}  # 9 is padding
    assert out["unit"] == {"layer": "a", "unit": [4, 4], "region": [[7, 9], [7, 9]], "clipped": [[7, 8], [7, 8]],
                           "exact": exact}


def test_cli_input_override_changes_the_clipping(tmp_path):
    out, _ = rf_json(write(tmp_path, STRIDED), "--input", "3,13,13", "--unit", "6,6")
    assert out["input"] == [13, 13]
    assert out["unit"]["region"] == [[9, 15], [9, 15]]
    assert out["unit"]["clipped"] == [[9, 12], [9, 12]]


def test_cli_default_layer_is_the_last_spatial_one(tmp_path):
    out, _ = rf_json(write(tmp_path, GLOBAL_TAIL))
    assert out["unit"]["layer"] == "c"
    rows = {r["name"]: r for r in out["layers"]}
    assert rows["fc"]["receptive_field"] is None and rows["fc"]["global"] is True
    assert rows["gap"]["coverage"] == [1.0, 1.0]


def test_cli_global_layer_sees_the_whole_input(tmp_path):
    out, _ = rf_json(write(tmp_path, GLOBAL_TAIL), "--layer", "gap")
    exact = {"region": [[0, 7], [0, 7]], "positions": [[[0, 7]], [[0, 7]]], "mixes": "gap", "exact": True}
    assert out["unit"] == {"layer": "gap", "unit": [0, 0], "region": None, "clipped": [[0, 7], [0, 7]],
                           "exact": exact}


def test_cli_block_name_means_its_last_layer(tmp_path):
    spec = {"input": [1, 8, 8], "layers": [{"seq": [conv(3), conv(3)], "name": "blk"}, conv(1)]}
    out, _ = rf_json(write(tmp_path, spec), "--layer", "blk")
    assert out["unit"]["layer"].startswith("blk.")
    assert out["unit"]["region"] == [[1, 5], [1, 5]]  # 8 → 6 → 4, centre unit 1


def test_cli_notes_a_field_larger_than_the_input(tmp_path):
    out, err = rf_json(write(tmp_path, net([conv(3, p=1, name=f"c{i}") for i in range(4)], size=6)))
    rows = {r["name"]: r for r in out["layers"]}
    assert [rows[f"c{i}"]["larger_than_input"] for i in range(4)] == [False, False, True, True]  # 3 5 7 9
    assert "'c2'" in err and "larger than the input" in err and "normal" in err


def test_cli_warns_on_misaligned_branches(tmp_path):
    spec = net([conv(2, 2, 0, name="b"), conv(1, 2, 0, name="s", frm="input"),
                {"add": None, "from": ["b", "s"], "name": "sum"}, conv(1, name="after")], size=8)
    out, err = rf_json(write(tmp_path, spec))
    assert "not aligned" in err and "'sum'" in err
    rows = {r["name"]: r["aligned"] for r in out["layers"]}
    assert rows == {"b": True, "s": True, "sum": False, "after": False}
    # per axis, the two alignment classes: 2×2 s2 (centre 0.5) and 1×1 s2 (centre 0)
    paths = out["layers"][2]["receptive_field"]["paths"]
    assert paths == [[{"size": 2, "stride": 2, "padding": 0}, {"size": 1, "stride": 2, "padding": 0}]] * 2


FLAT = net([conv(3, name="b"), {"flatten": None, "name": "flat"}, {"linear": {"out": 2}, "name": "fc"}], size=4)
NO_MAP = net([conv(3, p=1), {"permute": {"dims": [0, 1, 3, 2]}, "name": "ap"}], size=7)  # H and W swapped


@pytest.mark.parametrize(("spec", "args", "message"), [
    (STRIDED, ["--unit", "5,0"], "unit (5, 0) is outside layer 'b', whose output is 5×5"),
    (STRIDED, ["--unit", "0,-1"], "outside layer 'b'"),
    (STRIDED, ["--unit", "1"], "needs 2 indices"),
    (STRIDED, ["--unit", "1,2,3,4"], "1 to 3 indices"),
    (STRIDED, ["--unit", "x,y"], "comma-separated"),
    (STRIDED, ["--layer", "nope"], "no layer named 'nope'"),
    (FLAT, ["--layer", "fc", "--unit", "0"], "no spatial axes"),
    (NO_MAP, ["--layer", "ap"], "no spatial index map"),
], ids=["past-end", "negative", "too-few", "too-many", "not-int", "unknown-layer", "no-axes", "no-field"])
def test_cli_bad_usage_exits_2(tmp_path, spec, args, message):
    result = CliRunner().invoke(cli, ["rf", write(tmp_path, spec), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_no_spatial_layer_exits_2(tmp_path):
    result = CliRunner().invoke(cli, ["rf", write(tmp_path, {"input": [8], "layers": [{"linear": {"out": 2}}]})])
    assert result.exit_code == 2
    assert "no layer has a spatial receptive field" in result.output


def test_cli_table_renders(tmp_path):
    result = CliRunner().invoke(cli, ["rf", write(tmp_path, GLOBAL_TAIL), "--unit", "0,7", "--layer", "c"])
    assert result.exit_code == 0, result.output
    assert "global" in result.stdout
    assert "H -1..1, W 6..8 (unclipped)" in result.stdout
    assert "H 0..1, W 6..7 (2×2 pixels)" in result.stdout


def test_cli_invalid_spec_exits_2(tmp_path):
    result = CliRunner().invoke(cli, ["rf", write(tmp_path, net([conv(30)], size=8))])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_a_join_of_many_misaligned_branches_keeps_a_bounded_set_of_paths():
    # 40 branches of sizes 1..40 (stride 1, no padding): centres 0, 0.5, …, 19.5 all differ, so
    # every branch is its own alignment class; only the MAX_CLASSES largest are carried on, and
    # the field shown is the largest (r = 40), whose region for unit 0 is 0..39.
    from cnncalc import rf as rfmod

    fields = [rfmod.Field((r,), (1,), (0,)) for r in range(1, 41)]
    merged, problems = rfmod.merge(fields)
    kept = merged.classes(0)
    assert len(kept) == rfmod.MAX_CLASSES
    assert sorted(q[0] for q in kept) == list(range(41 - rfmod.MAX_CLASSES, 41))
    assert merged.size == (40,) and merged.region((0,)) == ((0, 39),)
    assert problems == ["axis 0: field centres differ (0, 0.5, 1, 1.5, 2, 2.5, … (40 in all))"]
