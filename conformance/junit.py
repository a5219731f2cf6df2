"""JUnit XML for CI dashboards: a test suite per loss, a test case per (target, dtype, direction) row.

A failing row carries its smallest failure (quantity, message, oracle against implementation) and its
reproducer; a row whose checks were all unsupported is skipped, with the reasons.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .report import unsupported_lines
from .results import FAILING, Result, Status, row_label, verdict


def write_junit(result: Result, path: str) -> None:
    suites = ET.Element("testsuites", name="losscheck")
    by_loss: dict[str, ET.Element] = {}
    smallest = {(f.loss, f.target, f.dtype, f.direction): f for f in result.smallest_failures()}
    unsupported = unsupported_lines(result)
    for key, rows in result.groups().items():
        loss, target, dtype, direction = key
        suite = by_loss.get(loss)
        if suite is None:
            suite = by_loss[loss] = ET.SubElement(suites, "testsuite", name=loss)
        case = ET.SubElement(suite, "testcase", classname=f"losscheck.{loss}",
                             name=f"{row_label(loss, target)} {dtype} {direction}")
        outcome = verdict(rows)
        if outcome in ("FAIL", "UNSTABLE"):
            worst = smallest.get(key) or next(r for r in rows if r.status in FAILING)
            failure = ET.SubElement(case, "failure", type=str(worst.status),
                                    message=f"{worst.quantity}: {worst.message}"[:1000])
            failure.text = (f"case {worst.case}\noracle {worst.expected}  implementation {worst.got}\n\n"
                            f"{worst.shrunk_reproducer or worst.reproducer}")
        elif outcome == "UNSUPPORTED":
            reason = next((line for line in unsupported if line.startswith(f"{row_label(loss, target)} {dtype} "
                                                                           f"{direction}:")), "unsupported")
            ET.SubElement(case, "skipped", message=reason[:1000])
        count = sum(r.status != Status.UNSUPPORTED for r in rows)
        case.set("assertions", str(count))
    for suite in by_loss.values():
        cases = list(suite)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
        suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
