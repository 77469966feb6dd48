"""NodeInputSpec: the blocks of the node features, their widths and places."""

from __future__ import annotations

import pytest
import torch

from evpose.data import NodeInputSpec, PoseGraphTransform
from evpose.graph import EventGraphTransform
from evpose.types import make_events, part_class


def test_blocks_and_width():
    spec = NodeInputSpec(tore_k=4, num_parts=10)
    assert spec.channels == 1 + 8 + 11 + 1 == 21
    assert spec.block("polarity") == slice(0, 1) and spec.block("tore") == slice(1, 9)
    assert spec.block("part_labels") == slice(9, 20) and spec.block("part_mask") == slice(20, 21)
    assert NodeInputSpec.from_dict(spec.as_dict()) == spec


def test_no_part_input():
    spec = NodeInputSpec(tore_k=2, num_parts=0)
    assert spec.channels == 5 and not spec.has_part_input
    with pytest.raises(KeyError, match="no 'part_labels' block"):
        spec.block("part_labels")
    with pytest.raises(KeyError, match="unknown node feature block 'parts'"):
        spec.block("parts")


def test_bad_values():
    with pytest.raises(ValueError, match="num_parts must be a non-negative integer, got -1"):
        NodeInputSpec(4, -1)
    with pytest.raises(ValueError, match=r"expected keys tore_k and num_parts, got \['in_channels'\]"):
        NodeInputSpec.from_dict({"in_channels": 21})


@pytest.mark.parametrize("num_parts", [0, 10])
def test_the_transform_makes_what_its_spec_says(num_parts, dhp19_cams):
    cam = dhp19_cams["cam2"]
    ev = make_events(torch.arange(50).numpy() * 100, torch.arange(50).numpy() % 300, torch.arange(50).numpy() % 200,
                     torch.arange(50).numpy() % 2)
    tf = PoseGraphTransform(EventGraphTransform(tore_k=3, max_nodes=40), num_parts)
    data = tf({"events": ev, "camera": cam, "index": 0})
    assert data.x.shape == (40, tf.input_spec.channels)
    assert tf.input_spec == NodeInputSpec(3, num_parts)
    assert data.node_event.tolist() == sorted(data.node_event.tolist()) and int(data.node_event.max()) < 50


def test_part_class_on_arrays_and_tensors():
    import numpy as np

    lab = np.array([-1, 0, 3, -1, 9], dtype=np.int16)
    assert part_class(lab, 10).tolist() == [10, 0, 3, 10, 9] and part_class(lab, 10).dtype == np.int16
    t = torch.tensor([-1, 2, -1])
    assert part_class(t, 4).tolist() == [4, 2, 4] and part_class(t, 4).dtype == torch.int64
