"""The canvas's pure modules (graph model, PNG reader) exercised inside the browser, plus
loading the shipped workflow files."""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def test_graph_model_compatibility_cycles_and_round_trip(canvas, page):
    result = page.evaluate("""async () => {
        const { Catalogue, Graph } = await import('/web/js/graph.js');
        const cat = new Catalogue({
          types: [{name: '*'}, {name: 'IMAGE'}, {name: 'MASK'}, {name: 'RGBA', parents: ['IMAGE']},
                  {name: 'HDR', parents: ['RGBA']}],
          nodes: [
            {type: 'Src', category: 't', inputs: [], outputs: [{name: 'hdr', type: 'HDR'}, {name: 'mask', type: 'MASK'}]},
            {type: 'Sink', category: 't', inputs: [{name: 'image', type: 'IMAGE', widget: null},
                                                   {name: 'n', type: 'INT', widget: 'int', default: 3}], outputs: [{name: 'out', type: 'IMAGE'}]},
            {type: 'Num', category: 't', inputs: [], outputs: [{name: 'v', type: 'INT'}]},
            {type: 'Any', category: 't', inputs: [{name: 'v', type: '*', widget: null}], outputs: [{name: 'v', type: '*'}]},
          ]});
        const g = new Graph(cat);
        const s = g.addNode('Src', [0, 0]), k = g.addNode('Sink', [300, 0]), k2 = g.addNode('Sink', [600, 0]);
        const r = {};
        r.parentChain = cat.compatible('HDR', 'IMAGE');
        r.notChild = cat.compatible('IMAGE', 'HDR');
        r.mask = g.connect(s.id, 'mask', k.id, 'image');
        r.ok = g.connect(s.id, 'hdr', k.id, 'image');
        r.chain = g.connect(k.id, 'out', k2.id, 'image');
        r.cycle = g.connect(k2.id, 'out', k.id, 'image');
        r.self = g.connect(k.id, 'out', k.id, 'image');
        r.defaults = g.nodes.get(k.id).inputs.n;
        // a linked widget input keeps its literal for when the link goes away
        g.setLiteral(k2.id, 'n', 9);
        const num = g.addNode('Num', [0, 300]);
        r.intLink = g.connect(num.id, 'v', k2.id, 'n');
        r.linkedN = JSON.stringify(g.nodes.get(k2.id).inputs.n);
        g.disconnect(k2.id, 'n');
        r.restoredN = g.nodes.get(k2.id).inputs.n;
        const wf = g.toWorkflow();
        const g2 = new Graph(cat);
        g2.loadWorkflow(JSON.parse(JSON.stringify(wf)));
        r.roundTrip = JSON.stringify(g2.toWorkflow()) === JSON.stringify(wf);
        g2.removeNode(k.id);
        r.afterRemove = JSON.stringify(g2.nodes.get(k2.id).inputs.image);
        return r;
    }""")
    assert result["parentChain"] is True and result["notChild"] is False
    assert result["mask"] == "MASK cannot connect to IMAGE"
    assert result["ok"] is None and result["chain"] is None
    assert result["cycle"] == "that link would make a cycle"
    assert result["self"] == "a node cannot feed itself"
    assert result["defaults"] == 3
    assert result["intLink"] is None and result["linkedN"] == '{"from":"4","output":"v"}'
    assert result["restoredN"] == 9
    assert result["roundTrip"] is True
    assert result["afterRemove"] is None


@pytest.mark.parametrize("chunk", ["tEXt", "zTXt", "iTXt"])
def test_png_reader_handles_every_text_chunk(canvas, page, chunk):
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo
    workflow = {"format": "nodegraph/workflow", "version": 1,
                "nodes": {"1": {"type": "String", "inputs": {"value": "café ☕" if chunk == "iTXt" else "cafe"}}}}
    info = PngInfo()
    text = json.dumps(workflow, ensure_ascii=False)
    if chunk == "tEXt":
        info.add_text("nodegraph.workflow", text)
    elif chunk == "zTXt":
        info.add_text("nodegraph.workflow", text, zip=True)
    else:
        info.add_itxt("nodegraph.workflow", text, zip=True)
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buf, format="PNG", pnginfo=info)
    assert chunk.encode() in buf.getvalue()
    got = page.evaluate("""async b64 => {
        const { readPngWorkflow } = await import('/web/js/png.js');
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        return await readPngWorkflow(bytes.buffer);
    }""", base64.b64encode(buf.getvalue()).decode())
    assert got == workflow


def test_shipped_lcm_lora_workflow_loads_and_saves_unchanged(canvas, page):
    path = ROOT / "workflows" / "lcm_lora_sdxl.json"
    original = json.loads(path.read_text())
    page.locator("#file-input").set_input_files(str(path))
    page.wait_for_selector("#canvas .node[data-node-id='sampler']")
    assert page.locator("#canvas .node.unknown").count() == 0
    assert page.locator("svg.wires path.wire").count() == sum(
        1 for n in original["nodes"].values() for v in n["inputs"].values() if isinstance(v, dict))
    assert json.loads(canvas.save()) == original
