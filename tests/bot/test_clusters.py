"""Grouping the messages the bot did not understand by the words they share."""

from bot.clusters import cluster, words


def test_messages_sharing_words_form_a_group() -> None:
    texts = [
        "do you ship to Iceland",  # 0
        "my parrot ate the gift card",  # 1
        "can you ship to Iceland please",  # 2
        "shipping to iceland, how long?",  # 3
        "is there shipping to Iceland",  # 4
        "1234 !!",  # 5: nothing to go by
    ]
    groups = cluster(texts)
    # 3 shares "iceland" of the group's key words {ship, iceland}: 1 of 4 words, enough.
    assert [g.members for g in groups] == [[0, 2, 3, 4], [1]]
    assert groups[0].top() == ["iceland", "ship", "shipping"]


def test_common_words_do_not_make_a_group() -> None:
    assert words("What is the status of this?") == frozenset({"status"})
    assert len(cluster(["what is this", "what is that"])) == 0
