"""How customers write in a chat, and the English they mean: "hw much r u charging for it pls",
"didnt", and a contraction typed fast without its apostrophe ("dosent").
"""

from __future__ import annotations

from generation.knowledge.edits import MIN_LENGTH, edit_distance, sole

# How customers write in a chat, and what they mean: "hw much r u charging for it pls". Each
# goes back to the English word unless the articles use it as written. ("im" stays: MiniLM
# reads it as "I'm", and nothing else looks at it.)
CHAT_WORDS = {
    **dict.fromkeys(["u", "ya"], "you"),
    "ur": "your",
    "r": "are",
    "n": "and",
    **dict.fromkeys(["pls", "plz", "pleez"], "please"),
    **dict.fromkeys(["thx", "thnx", "thanx"], "thanks"),
    "hw": "how",
    **dict.fromkeys(["wat", "wut", "wht"], "what"),
    "wen": "when",
    **dict.fromkeys(["wher", "whr"], "where"),
    "wich": "which",
    "wud": "would",
    "cud": "could",
    "shud": "should",
    **dict.fromkeys(["coz", "cuz", "bcoz", "bcuz", "bc"], "because"),
    "abt": "about",
    "b4": "before",
    **dict.fromkeys(["acct", "acc"], "account"),
    **dict.fromkeys(["pw", "pwd"], "password"),
    "msg": "message",
    **dict.fromkeys(["tmrw", "tmr", "tmrow", "2moro"], "tomorrow"),
    "2day": "today",
    "ppl": "people",
    "fone": "phone",
    "fones": "phones",
    "aswell": "as well",
    "thru": "through",
    "tho": "though",
    "nite": "night",
    "pymt": "payment",
    "amt": "amount",
    "qty": "quantity",
    "approx": "approximately",
    "bday": "birthday",
    "xmas": "christmas",
    "wknd": "weekend",
    "wk": "week",
    "wks": "weeks",
    **dict.fromkeys(["mth", "mnth"], "month"),
    **dict.fromkeys(["mths", "mnths"], "months"),
    "yrs": "years",
    "hrs": "hours",
    "mins": "minutes",
    "asap": "as soon as possible",
    "btw": "by the way",
    "alot": "a lot",
    "upto": "up to",
    "thankyou": "thank you",
    "ive": "i've",
    "nxt": "next",
    "dmg": "damage",
    "appt": "appointment",
    "pic": "photo",
    "pics": "photos",
    "docs": "documents",
    "txt": "text",
    "govt": "government",
    "wanna": "want to",
    "gonna": "going to",
    "gotta": "got to",
    "bf": "boyfriend",
    "gf": "girlfriend",
    "idk": "i don't know",
    "dunno": "don't know",
    "hav": "have",
    "payed": "paid",  # English only at sea; customers write it for "paid"
    "rn": "right now",
    "uni": "university",
    "dept": "department",
    **dict.fromkeys(["mthly", "mnthly"], "monthly"),
    "wkly": "weekly",
    "esp": "especially",
    "tbh": "to be honest",
    "fyi": "for your information",
    "ofc": "of course",
    "lmk": "let me know",
    "whats": "what's",
    "hows": "how's",
    "wheres": "where's",
    "thats": "that's",
    "theres": "there's",
    "youre": "you're",
    **{w: w[:-2] + "n't" for w in "dont didnt doesnt cant wont isnt arent wasnt havent hasnt".split()},
    **{w: w[:-2] + "n't" for w in "wouldnt couldnt shouldnt".split()},
}


# The chat words of a contraction written without its apostrophe, long enough that a slip in
# one seldom makes another word ("didnt", "doesnt", "whats"; not "cant", "wont").
_CONTRACTIONS = {word: english for word, english in CHAT_WORDS.items() if "'" in english and len(word) > MIN_LENGTH}


def contraction_typo(lower: str) -> str | None:
    """The contraction that ``lower``, a word neither English nor the articles', writes
    without its apostrophe and with one slip ("dosent" -> "doesn't", "whts" -> "what's",
    "didt" -> "didn't"): customers type these fast, and "doesn't" tells what they ask."""
    if len(lower) < MIN_LENGTH:
        return None
    found = {
        word
        for word, english in _CONTRACTIONS.items()
        if edit_distance(lower, word) == 1 and lower != english.partition("'")[0]  # "what", "there"
    }
    word = sole(found)
    return None if word is None else _CONTRACTIONS[word]
