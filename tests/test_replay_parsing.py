import orjson

from pipeline.kafka.replay import expand, items, read

from conftest import SEEDS


def test_seed_txt_files_become_articles_with_titles_and_dates():
    found = {item.key: item.article for item in items([SEEDS])}
    assert len(found) == 5
    assert found["002_67bb06708fc3b50b"]["title"].startswith("Une équipe américaine atterrit à Moscou")
    assert found["004_13402ab3d7d3e0e8"]["title"].startswith("Ukraine : Trump et Poutine")
    assert "title" not in found["000_0bfbe1548c3f5081"]  # one long paragraph: no clear title
    assert "title" not in found["001_4ac40f0501ea5ca5"]  # first line is a sentence
    assert all(a["source"].endswith(".txt") and a["text"] for a in found.values())


def test_repeat_gives_new_ids_same_content_and_limit_stops():
    batch = list(items([SEEDS], repeat=3))
    assert len(batch) == 15 and len({i.key for i in batch}) == 15
    assert batch[0].article["text"] == batch[5].article["text"]
    assert len(list(items([SEEDS], repeat=3, limit=7))) == 7


def test_jsonl_reads_articles_and_keeps_bad_lines_as_payloads(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_bytes(b'{"id": "a", "text": "Bonjour tout le monde", "title": "T"}\n'
                     b'not json at all\n\n'
                     b'{"id": "b", "text": 42}\n'
                     b'{"text": "sans identifiant"}\n')
    got = list(read(path))
    assert [g.key for g in got][:1] == ["a"] and got[0].article["title"] == "T"
    assert got[1].payload == b"not json at all"            # sent as is, dead-lettered by the worker
    assert orjson.loads(got[2].payload)["text"] == 42        # wrong type: sent as is too
    assert got[3].article["id"] and got[3].article["source"] == str(path)


def test_rss_and_atom(tmp_path):
    rss = tmp_path / "feed.rss"
    rss.write_text("""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>https://news.example</link>
    <language>fr</language>
    <item><title>Premier titre</title><link>https://news.example/1</link><guid>g1</guid>
    <pubDate>Sun, 16 Mar 2025 19:07:00 +0100</pubDate><description>&lt;p&gt;Le texte de l'article.&lt;/p&gt;</description></item>
    <item><title>Second</title><link>https://news.example/2</link><description>Autre texte.</description></item>
    </channel></rss>""", encoding="utf-8")
    atom = tmp_path / "feed.atom"
    atom.write_text("""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
    <entry><title>Entrée</title><id>urn:1</id><updated>2025-03-16T18:07:00Z</updated>
    <content type="html">&lt;p&gt;Contenu un.&lt;/p&gt;&lt;p&gt;Deux.&lt;/p&gt;</content></entry></feed>""", encoding="utf-8")
    rss_items = list(read(rss))
    assert [i.article["title"] for i in rss_items] == ["Premier titre", "Second"]
    first = rss_items[0].article
    assert first["text"] == "Le texte de l'article." and first["url"] == "https://news.example/1"
    assert first["published_at"] == "2025-03-16T18:07:00Z" and first["lang_hint"] == "fr"
    atom_item = list(read(atom))[0].article
    assert "Contenu un." in atom_item["text"] and "Deux." in atom_item["text"]
    assert expand([tmp_path]) == sorted([atom, rss])


def test_undecodable_txt_is_sent_as_bytes(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"caf\xe9 latin-1")
    (item,) = read(path)
    assert item.article is None and item.payload == b"caf\xe9 latin-1"
