"""The README's Java consumer is the file the end-to-end test builds and runs (clients/java)."""

from conftest import ROOT


def test_readme_java_snippet_is_the_tested_source():
    source = (ROOT / "clients/java/src/main/java/newsfeed/EnrichedConsumer.java").read_text()
    readme = (ROOT / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in readme.split("```java\n")[1:]]
    assert source in blocks, "README's ```java block differs from clients/java/.../EnrichedConsumer.java"
