"""Reading rendered pictures in tests: parse a drawing's SVG, find Graphviz's groups by class."""

import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


def svg_of(drawing) -> ET.Element:
    """Render a drawing to SVG and parse it as XML (a malformed SVG raises here)."""
    return ET.fromstring(drawing.pipe(format="svg"))


def groups(svg: ET.Element, cls: str) -> list[ET.Element]:
    """SVG <g> elements whose class list contains ``cls`` (Graphviz writes node/cluster/edge classes)."""
    return [g for g in svg.iter(SVG + "g") if cls in g.get("class", "").split()]
