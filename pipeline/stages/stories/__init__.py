"""Stories: features per article (embedding, entity keys), the open-story index, one name across spellings and scripts, and the features on the wire."""
