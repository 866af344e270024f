"""The Dutch and Polish training-data readers of offline/ner_data.py (MultiCoNER v1, KPWr), on snippets
written here in each format: fine-grained types cut to PER/ORG/LOC, lower-cased text recased, a
document's sentences joined."""

from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "offline"))
import ner_data  # noqa: E402

MULTICONER = """# id 1\tdomain=train
in _ _ O
het _ _ O
seizoen _ _ O
promoveerde _ _ O
psv _ _ B-GRP
en _ _ O
won _ _ O
vincent _ _ B-PER
van _ _ I-PER
gogh _ _ I-PER
de _ _ B-CW
nachtwacht _ _ I-CW
in _ _ O
amsterdam _ _ B-LOC
. _ _ O
"""
KPWR = """-DOCSTART CONFIG FEATURES orth base ctag
-DOCSTART FILE prasa/1
Donald\tDonald\tsubst:sg:nom:m1\tB-nam_liv_person
Tusk\tTusk\tsubst:sg:nom:m1\tI-nam_liv_person
odwiedził\todwiedzić\tpraet:sg:m1:perf\tO
Orlen\tOrlen\tsubst:sg:acc:m3\tB-nam_org_company
.\t.\tinterp\tO

Polacy\tPolak\tsubst:pl:nom:m1\tB-nam_org_nation
jechali\tjechać\tpraet:pl:m1:imperf\tO
ulicą\tulica\tsubst:sg:inst:f\tO
Marszałkowską\tmarszałkowski\tadj:sg:inst:f:pos\tB-nam_fac_road
do\tdo\tprep:gen\tO
Gdańska\tGdańsk\tsubst:sg:gen:m3\tB-nam_loc_gpe_city
z\tz\tprep:inst\tO
Windows\tWindows\tsubst:sg:inst:m3\tB-nam_pro_software
.\t.\tinterp\tO
-DOCSTART FILE prasa/2
Kraków\tKraków\tsubst:sg:nom:m3\tB-nam_loc_gpe_city
"""


def test_multiconer_recased_and_mapped():
    [(words, tags)] = ner_data.READERS["multiconer_recased"](MULTICONER)
    named = {w: t for w, t in zip(words, tags) if t != "O"}
    assert named == {"PSV": "B-ORG", "Vincent": "B-PER", "van": "I-PER", "Gogh": "I-PER", "Amsterdam": "B-LOC"}
    assert words[0] == "In" and "De" in words and "nachtwacht" in words   # a work's title: a capital, no label
    assert ner_data.READERS["multiconer_recased"](MULTICONER) == [(words, tags)]   # the odd capitals are reproducible


def test_kpwr_types_cut_and_document_sentences_joined():
    first, second = ner_data.read_kpwr(KPWR)
    assert dict(zip(*first)) == {
        "Donald": "B-PER", "Tusk": "I-PER", "odwiedził": "O", "Orlen": "B-ORG", ".": "O", "Polacy": "O",
        "jechali": "O", "ulicą": "O", "Marszałkowską": "B-LOC", "do": "O", "Gdańska": "B-LOC", "z": "O",
        "Windows": "O"}
    assert len(first[0]) == 14   # both sentences of prasa/1 in one example
    assert second == (["Kraków"], ["B-LOC"])
