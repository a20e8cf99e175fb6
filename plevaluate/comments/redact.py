"""The redaction pass for open-ended answers: run before a comment is stored and again before a quote is shown.

A `Redactor` is built once from the people's names a district holds (educators' full names) and the extra words
and phrases its plan lists (a building's nickname, a program's nickname); `Redactor.redact` then replaces, in
this order,

1. e-mail addresses with ``[email]`` and URLs (``http://``, ``https://``, ``www.`` and bare domains ending in
   .com, .org, .net, .edu, .gov, .us, .io or .info) with ``[url]``, so a name inside an address becomes one
   ``[email]``;
2. US phone numbers with ``[phone]``: ``(555) 123-4567``, ``555-123-4567``, ``555.123.4567``, ``5551234567``,
   ``+1 555 123 4567``, ``1-800-555-1234``, a seven-digit ``555-1234`` (separator required), each with an
   optional ``ext. 12`` / ``x12``;
3. names with ``[name]`` and the district's terms with ``[term]``, from one compiled regular expression.

`leaks` is the check at render time: the kinds an unredacted text still holds.

Notes
-----
Names. From each full name ("Maria Lopez", "Lopez, Maria", "Dr. Maria Elena Lopez Jr.") the pass redacts the
full name in both orders ("Maria Lopez", "Lopez Maria", "Lopez, Maria"; with all given names or any one) and every
part alone (given names, surname, each half of a hyphenated name) that is at least 3 letters long; shorter parts
("Al", "Ng", an initial) only inside a full name, and surname particles ("de", "van", "la") never alone. Titles
and suffixes ("Dr.", "Jr.") are not part of the name; a nickname in brackets or quotes ('Maria (Mari) Lopez',
'Robert "Bob" Smith') is one more given name. A name given as one word is redacted alone if it has 2 letters or
more; a name of one letter is ignored (listed in `Redactor.ignored`). Matching is

- whole words only: "Rivera" does not hit "Riverside", "Ann" does not hit "Annual"; a possessive ("Lopez's",
  "Lopez'") is redacted to ``[name]'s`` / ``[name]'``;
- case-insensitive, and **privacy first: a name that is also a common word is redacted wherever the word
  appears, capitalised or not** ("Will", "Hope", "Green", "Rose": "we will" becomes "we [name]"). A comment
  loses a word; no person is ever named because their name looked ordinary;
- accent-insensitive: names and text are compared after Unicode NFKD decomposition with combining marks
  removed, case folding, and a few letters that do not decompose mapped by hand (ø, ł, đ, æ, œ, ß, ı, þ, ð), so
  "Peña" matches "pena", "PENA" and "Peña" written with a combining tilde, and "Pena" matches "Peña";
- tolerant of spacing and punctuation inside a name: any run of spaces or dashes between parts ("Anne-Marie",
  "Anne Marie", "Maria   Lopez"), an apostrophe written straight, curly or not at all ("O'Neill", "O’Neill",
  "ONeill"), a period after an initial or not.

All names and terms go into one prefix tree, emitted as one regular expression whose branches try the longer
continuation first ("Maria Lopez" wins over "Maria"), so the pass costs one scan of the text however many names
there are. The placeholders (``[email]``, ``[url]``, ``[phone]``, ``[name]``, ``[term]``) are skipped by every
pattern, so redacting twice changes nothing.

What it cannot catch: nicknames and misspellings ("Mari", "Lopes"), names of people who are not in the list
(students, parents, a visiting coach), names split by a line break inside a word, a name in ``AnneMarie`` form
when the list has "Anne-Marie", e-mail addresses written out ("maria at lincoln dot org") or with spaces around
the @, social-media handles (``@mlopez``), bare domains under other endings (``lincoln.ca``,
``lincoln.school``), non-US phone numbers, phone numbers written in words, and indirect identifiers
("the only Spanish teacher on the second floor"). A human reads every quote before it is approved.

Ordinary numbers are left alone: "3 sessions", "2025-26", "grade 4", "room 101", "85%", "3:30". A seven-digit
number written with a dash or a period ("120-1500") is read as a phone number.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

import numpy as np
import pandas as pd

__all__ = ["KINDS", "PLACEHOLDERS", "Redactor", "leaks", "for_district"]

#: What the pass redacts, in the order of the count table's columns.
KINDS = ("email", "phone", "url", "name", "term")

#: Dropped before matching (soft hyphen, zero-width space/joiners, word joiner, BOM); Unicode dashes become '-'.
_INVISIBLE = str.maketrans(
    {
        **dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff")),
        **dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-"),
    }
)

#: The text that replaces each kind.
PLACEHOLDERS: Mapping[str, str] = {kind: f"[{kind}]" for kind in KINDS}

_PLACEHOLDER = r"\[(?:email|url|phone|name|term)\]"

# E-mail addresses and URLs first (an address containing a name is one [email]), then phone numbers; one scan, the
# leftmost match wins, an e-mail before a URL or a phone number starting at the same place.
_END_OF_URL = r"[^\s<>\"'’.,;:!?)\]}]"
_CONTACT = re.compile(
    rf"""
    (?P<keep>{_PLACEHOLDER})
    | (?P<email>(?<![\w.+%-])[\w.+%-]+@[\w-]+(?:\.[\w-]+)+)
    | (?P<url>(?:(?<!\w)https?://|(?<![\w.-])www\.)(?:[^\s<>"]*{_END_OF_URL})?
        | (?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:com|org|net|edu|gov|us|io|info)(?![\w-])
          (?:/(?:[^\s<>"]*{_END_OF_URL})?)?)
    | (?P<phone>(?<![\w+])
        (?:
          (?:\+\s?1[\s.-]?|1[\s.-]?)?(?:\(\d{{3}}\)\s?|\d{{3}}[\s.-]?)\d{{3}}[\s.-]?\d{{4}}
          | \d{{3}}[.-]\d{{4}}
        )
        (?:\s*,?\s*(?:ext\.?|extension|x)\s*\d{{1,6}})?
        (?!\w))
    """,
    re.IGNORECASE | re.VERBOSE,
)

# Letters NFKD does not decompose into a base letter and a mark.
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe", "ß": "ss", "ı": "i", "þ": "th", "ð": "d"})

# The pieces of a name or term and the pattern each becomes: a run of spaces or dashes, a comma, a period (with the
# spaces after it), an apostrophe; anything else is matched as itself.
_DASHES = "\\-\u2010\u2011\u2012\u2013\u2014"
_APOSTROPHES = "'\u2019\u2018\u02bc`"
_PIECES = re.compile(rf"\s*,\s*|\.[\s{_DASHES}]*|[\s{_DASHES}]+|[{_APOSTROPHES}]|.", re.DOTALL)
_SEPARATOR = rf"[\s{_DASHES}]+"
_ATOMS = {",": r"\s*,\s*", ".": rf"(?:\.[\s{_DASHES}]*|{_SEPARATOR})?", "'": f"[{_APOSTROPHES}]?"}

# Brackets and quotes around a nickname ('Maria (Mari) Lopez', 'Robert "Bob" Smith'): the nickname is a given name.
_QUOTES = str.maketrans(dict.fromkeys('()[]{}"“”', " "))

# Words around a name that are not a person's name alone: titles, suffixes and surname particles.
_TITLES = frozenset({"mr", "mrs", "ms", "mx", "miss", "dr", "prof", "sr", "sra", "srta"})
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "edd", "md"})
_PARTICLES = frozenset(
    {"de", "del", "della", "der", "den", "di", "da", "das", "dos", "du", "la", "le", "van", "von", "ter", "ten",
     "st", "bin", "ibn", "al", "el", "y"}
)  # fmt: skip


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """One character as it is compared: case-folded, decomposed, without combining marks."""
    decomposed = unicodedata.normalize("NFKD", char.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_LETTERS)


def _fold(text: str) -> str:
    """``text`` as names are compared: case-folded and without accents ("Peña" -> "pena")."""
    return text.lower() if text.isascii() else "".join(map(_fold_char, text))


def _letters(text: str) -> str:
    """The letters and digits of a folded text, the key a match is looked up by ("o'neill, j." -> "oneillj")."""
    return re.sub(r"[\W_]+", "", text)


def _atoms(folded: str) -> tuple[str, ...]:
    """A folded name or term as a sequence of patterns, one per piece (the edges of the prefix tree)."""
    atoms = []
    for piece in _PIECES.findall(folded.strip()):
        if "," in piece:
            atoms.append(_ATOMS[","])
        elif piece.startswith("."):
            atoms.append(_ATOMS["."])
        elif piece[0] in _APOSTROPHES:
            atoms.append(_ATOMS["'"])
        elif piece.isspace() or piece[0] in _DASHES:
            atoms.append(_SEPARATOR)
        else:
            atoms.append(re.escape(piece))
    return tuple(atoms)


def _name_forms(name: str) -> tuple[list[str], list[str]]:
    """The forms of one person's folded name to redact: (full names, parts redacted alone).

    Full names: given names then surname, surname then given names, "surname, given names", each with all given
    names or any one of them. Parts: each given name, the surname and each of its words but the particles, and the
    halves of a hyphenated one, of at least 3 letters ("Van Nguyen" keeps "Van", "Vincent van Gogh" does not); a
    one-word name is its own part when it has 2 letters or more.
    """
    folded = " ".join(_fold(name).translate(_QUOTES).split())
    if "," in folded:
        surname_text, _, given_text = folded.partition(",")
        surname, given = surname_text.split(), given_text.split()
    else:
        words = folded.split()
        while len(words) > 1 and words[0].strip(".") in _TITLES:
            words = words[1:]
        while len(words) > 1 and words[-1].strip(".") in _SUFFIXES:
            words = words[:-1]
        cut = len(words) - 1
        while cut > 1 and words[cut - 1] in _PARTICLES:
            cut -= 1
        given, surname = words[:cut], words[cut:]
    fulls = [folded]
    if given and surname:
        for first in {" ".join(given), *given}:
            last = " ".join(surname)
            fulls += [f"{first} {last}", f"{last} {first}", f"{last}, {first}"]
    words = given + surname
    parts = []
    if len(words) == 1:
        parts = [words[0]] if len(_letters(words[0])) >= 2 else []
    else:
        if len(surname) > 1:
            parts.append(" ".join(surname))
        alone = given + [word for word in surname if word not in _PARTICLES]
        for word in alone:
            parts += [p for p in (word, *re.split(f"[{_DASHES}]+", word)) if len(_letters(p)) >= 3]
    return fulls, parts


def _tree_pattern(alternatives: Iterable[tuple[str, ...]]) -> str:
    """One regular expression matching any of ``alternatives`` (sequences of atoms), built as a prefix tree.

    At each node the branches are tried before stopping there (a greedy ``(?:...)?``), so the longest alternative
    that ends on a word boundary wins; a text is scanned once whatever the number of alternatives.
    """
    tree: dict = {}
    for atoms in alternatives:
        node = tree
        for atom in atoms:
            node = node.setdefault(atom, {})
        node[""] = {}

    def emit(node: dict) -> str:
        branches = [atom + emit(child) for atom, child in sorted(node.items(), key=lambda kv: (-len(kv[0]), kv[0]))
                    if atom]  # fmt: skip
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(tree)


#: The most words a name or term is matched across that `_keys` looks for; a longer one is always kept.
_MOST_WORDS = 12


def _words(folded: str) -> list[str]:
    return re.findall(r"[^\W_]+", folded)


def _keys(texts: Iterable[object]) -> set[str]:
    """The letters and digits (`_letters`) of every run of up to `_MOST_WORDS` consecutive words of each text, read as
    `Redactor.redact` reads it (invisible characters dropped, contacts replaced, folded), and as given: a name or term
    matches only from a word boundary to a word boundary, with nothing but spaces, dashes, periods, commas and
    apostrophes between its letters, so its key is one of these."""
    found: set[str] = set()
    for text in texts:
        if text is None or (not isinstance(text, str) and pd.isna(text)):
            continue
        cleaned = str(text).translate(_INVISIBLE)
        replaced = _CONTACT.sub(lambda m: m.group() if m.lastgroup == "keep" else PLACEHOLDERS[m.lastgroup], cleaned)
        for version in (cleaned, replaced):
            words = _words(_fold(version))
            for start in range(len(words)):
                key = ""
                for word in words[start : start + _MOST_WORDS]:
                    key += word
                    found.add(key)
    return found


def _findable(forms: Iterable[str], found: set[str]) -> bool:
    """Whether a name or term (its folded forms) could be matched in the texts whose `_keys` are ``found``; one too
    short to be matched at all is kept, so `Redactor.ignored` still lists it."""
    return any(len(_letters(form)) <= 1 or len(_words(form)) > _MOST_WORDS or _letters(form) in found for form in forms)


#: Terms of ASCII letters and digits only, one a line (`_findable_terms`' shortcut for IDs; a term holds no line break).
_ALNUM = re.compile(r"[A-Za-z0-9\n]*")


def _findable_terms(terms: tuple[str, ...], found: set[str]) -> tuple[str, ...]:
    """The ``terms`` `_findable` in the texts whose `_keys` are ``found``, in order: ASCII terms (every ID) in one
    pass over a column, as `_fold` and `_letters` read them (lower case; letters and digits), the others one by one
    (a state's million student IDs took ten seconds one by one)."""
    if _ALNUM.fullmatch("\n".join(terms)):  # every term ASCII letters and digits (IDs): its letters are its lower case
        return tuple(term for term in terms if len(term) <= 1 or term.lower() in found)
    series = pd.Series(terms, dtype=object)
    plain = series.map(str.isascii).astype(bool)
    folded = series[plain].str.lower()
    letters = folded.str.replace(r"[\W_]+", "", regex=True)
    long = folded.str.len() > 2 * _MOST_WORDS  # more than _MOST_WORDS words takes that many characters
    words = folded[long].str.count(r"[^\W_]+").reindex(folded.index, fill_value=0)
    keep = np.zeros(len(series), bool)
    keep[plain.to_numpy()] = (letters.str.len().le(1) | words.gt(_MOST_WORDS) | letters.isin(found)).to_numpy(bool)
    keep[~plain.to_numpy()] = [_findable([_fold(term)], found) for term in series[~plain]]
    return tuple(series[keep])


def findable(terms: Iterable[str], texts: Iterable[object]) -> tuple[str, ...]:
    """The ``terms`` a redactor for ``texts`` only keeps (`Redactor.build` with ``texts``): those whose letters could
    be found in them, in order, once each (say, the student IDs an approved quote could name)."""
    return _findable_terms(_strings(terms, "terms"), _keys(texts))


def _strings(values: Iterable[object], what: str) -> tuple[str, ...]:
    """The non-missing, non-blank strings of ``values``, once each, in order; anything but text is an error."""
    if isinstance(values, str):
        raise TypeError(f"{what} should be a list of strings, got the string {values!r}; write [{values!r}].")
    if isinstance(values, (np.ndarray, pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        values = values.tolist()  # a column read value by value through pandas: 1.4 s of a year's 869,000 student IDs
    kept: dict[str, None] = {}
    wrong = []
    for position, value in enumerate(values):
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            continue
        if not isinstance(value, str):
            wrong.append(f"{value!r} ({type(value).__name__}) at position {position}")
            continue
        if value.strip():
            kept[" ".join(value.split())] = None
    if wrong:
        raise TypeError(
            f"{what} should be strings; received {', '.join(wrong)}. Pass the column as text, e.g. "
            f"educators['name'].dropna().astype(str)."
        )
    return tuple(kept)


@dataclass(frozen=True)
class Redactor:
    """The redaction pass, built once for a district's names and terms (`Redactor.build`) and run on every comment.

    Attributes
    ----------
    names : tuple of str
        People's full names, as given (blank and missing entries left out, repeats once).
    terms : tuple of str
        The district's other words and phrases to redact (a building's or a program's nickname).
    ignored : tuple of str
        Names and terms left out because they hold fewer than 2 letters or digits ("J", "-"): a caveat to report.

    Examples
    --------
    >>> redactor = Redactor.build(names=["Maria Lopez", "O'Neill, Sean"], terms=["Cougar Academy"])
    >>> text, counts = redactor.redact("Ms. Lopez's session at cougar academy was great; Sean O’Neill agreed.")
    >>> text
    "Ms. [name]'s session at [term] was great; [name] agreed."
    >>> sorted(counts.items())
    [('name', 2), ('term', 1)]
    """

    names: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    ignored: tuple[str, ...] = field(default=(), init=False)
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _kinds: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        kinds: dict[str, str] = {}
        alternatives: set[tuple[str, ...]] = set()
        ignored = []
        for kind, values in (("term", self.terms), ("name", self.names)):
            for value in values:
                folded = _fold(value)
                if len(_letters(folded)) <= 1:
                    ignored.append(value)
                    continue
                if kind == "name":
                    fulls, parts = _name_forms(value)
                    forms = fulls + parts
                else:
                    forms = [folded]
                for form in forms:
                    alternatives.add(_atoms(form))
                    kinds[_letters(form)] = kind  # a name and a term spelled alike: a name (set last)
        tree = _tree_pattern(alternatives)
        found = rf"|(?<!\w)(?P<found>{tree})(?!\w)" if tree else ""
        object.__setattr__(self, "ignored", tuple(ignored))
        object.__setattr__(self, "_pattern", re.compile(rf"(?P<keep>{_PLACEHOLDER}){found}", re.IGNORECASE))
        object.__setattr__(self, "_kinds", MappingProxyType(kinds))

    def __reduce__(self) -> tuple[type[Redactor], tuple[tuple[str, ...], tuple[str, ...]]]:
        """Pickled as its lists and compiled again when unpickled (a worker process gets its own copy)."""
        return type(self), (self.names, self.terms)

    @classmethod
    def build(cls, names: Iterable[str] = (), terms: Iterable[str] = (), *, texts=None) -> Redactor:
        """A redactor for these people's names and the district's terms.

        ``texts``: a redactor for these texts only, holding the names and terms that could be found in them (a
        match covers whole words, so its letters and digits are those of consecutive words of a text: `_keys`); it
        redacts each of them exactly as the full redactor does, and is built in a moment where a state's million
        student IDs took most of a minute. Never use it on other texts.

        Parameters
        ----------
        names : iterable of str
            Full names ("Maria Lopez", "Lopez, Maria", "Dr. Anne-Marie Peña"); missing and blank entries are
            skipped, a Series is fine.
        terms : iterable of str
            Other words and phrases to redact, matched whole, case- and accent-insensitively.

        Returns
        -------
        Redactor

        Raises
        ------
        TypeError
            When ``names`` or ``terms`` is a single string, or holds something other than strings.

        Examples
        --------
        >>> Redactor.build(names=["Maria Lopez", None, "  ", "Maria Lopez", "J"]).names
        ('Maria Lopez', 'J')
        >>> Redactor.build(names=["Maria Lopez", "J"]).ignored
        ('J',)
        """
        names, terms = _strings(names, "names"), _strings(terms, "terms")
        if texts is not None:
            found = _keys(texts)
            names = tuple(name for name in names if _findable([_fold(name), *sum(_name_forms(name), [])], found))
            terms = _findable_terms(terms, found)  # as `findable`
        return cls(names=names, terms=terms)

    def redact(self, text: str) -> tuple[str, Counter[str]]:
        """``text`` with e-mail addresses, URLs, phone numbers, names and terms replaced by placeholders.

        Parameters
        ----------
        text : str
            One comment. A missing value (None, NaN, ``pd.NA``) is returned as it is; anything else that is not a
            string is redacted as its ``str``.

        Returns
        -------
        text : str
            The comment with ``[email]``, ``[url]``, ``[phone]``, ``[name]`` and ``[term]`` in place of what they
            replace; everything else untouched.
        counts : Counter
            How many of each kind (`KINDS`) were replaced; kinds not found are absent.

        Examples
        --------
        >>> redactor = Redactor.build(names=["Peña, José"])
        >>> redactor.redact("Email jose.pena@lincoln.org or call (555) 123-4567 ext. 12 - ask for Jose PENA.")
        ('Email [email] or call [phone] - ask for [name].', Counter({'email': 1, 'phone': 1, 'name': 1}))
        >>> redactor.redact("3 sessions in 2025-26, grade 4, room 101, 85% at 3:30")[0]
        '3 sessions in 2025-26, grade 4, room 101, 85% at 3:30'
        """
        counts: Counter[str] = Counter()
        if not isinstance(text, str):
            if text is None or pd.isna(text):
                return text, counts
            text = str(text)
        if not text:
            return text, counts
        # characters that hide a name or number from the patterns without showing on the page: soft hyphens and
        # zero-width characters are dropped, Unicode dashes read as '-' (found by a hostile test: "555–123–4567")
        text = text.translate(_INVISIBLE)

        def contact(match: re.Match[str]) -> str:
            kind = match.lastgroup
            if kind == "keep":
                return match.group()
            counts[kind] += 1
            return PLACEHOLDERS[kind]

        text = _CONTACT.sub(contact, text)
        return self._names(text, counts), counts

    def _names(self, text: str, counts: Counter[str]) -> str:
        """``text`` with names and terms replaced, matched on its folded form and cut from the original."""
        folded = _fold(text)
        if len(folded) == len(text) and (text.isascii() or all(len(_fold_char(c)) == 1 for c in text)):
            origin = None  # one folded character per character: positions agree
        else:
            origin = [i for i, char in enumerate(text) for _ in _fold_char(char)]
        out, last = [], 0
        for match in self._pattern.finditer(folded):
            if match.lastgroup != "found":
                continue
            kind = self._kinds.get(_letters(match.group()), "name")
            start, end = match.span()
            if origin is not None:
                start, end = origin[start], origin[end - 1] + 1
                while end < len(text) and not _fold_char(text[end]):  # a combining mark after the last letter
                    end += 1
            out += [text[last:start], PLACEHOLDERS[kind]]
            last = end
            counts[kind] += 1
        return "".join([*out, text[last:]]) if out else text

    def redact_all(self, texts: pd.Series) -> tuple[pd.Series, pd.DataFrame]:
        """Every comment of a Series redacted, with a count table for the import summary.

        Parameters
        ----------
        texts : Series
            Comments; missing values stay missing.

        Returns
        -------
        texts : Series
            The redacted comments, with ``texts``' index and name (a ``string`` Series stays one, any other is
            ``object``).
        counts : DataFrame
            One row per comment, indexed like ``texts`` (the index named ``row`` when it had no name), with one
            integer column per kind: ``email, phone, url, name, term`` - how many were replaced in that comment.

        Examples
        --------
        >>> redactor = Redactor.build(names=["Maria Lopez"])
        >>> text, counts = redactor.redact_all(pd.Series(["Thanks Maria!", None, "see www.pd.org, 555-123-4567"]))
        >>> text.tolist()[::2], bool(text.isna()[1])
        (['Thanks [name]!', 'see [url], [phone]'], True)
        >>> counts.reset_index()
           row  email  phone  url  name  term
        0    0      0      0    0     1     0
        1    1      0      0    0     0     0
        2    2      0      1    1     0     0
        >>> int((counts.sum(axis=1) > 0).sum()), counts.sum().to_dict()["name"]
        (2, 1)
        """
        results = [self.redact(text) for text in texts.tolist()]
        redacted = pd.Series(
            [text for text, _ in results],
            index=texts.index,
            name=texts.name,
            dtype=texts.dtype if isinstance(texts.dtype, pd.StringDtype) else object,
        )
        counts = pd.DataFrame(
            [[found[kind] for kind in KINDS] for _, found in results],
            index=texts.index if texts.index.nlevels > 1 or texts.index.name else texts.index.rename("row"),
            columns=list(KINDS),
            dtype="int64",
        )
        return redacted, counts


def leaks(text: str, redactor: Redactor) -> list[str]:
    """The kinds of identifying text ``text`` still holds: the check before a quote is rendered.

    Parameters
    ----------
    text : str
        Text about to be shown.
    redactor : Redactor
        The district's redactor.

    Returns
    -------
    list of str
        The kinds (`KINDS`, in that order) the redaction pass would replace in ``text``; empty when it is clean
        (placeholders are not leaks).

    Examples
    --------
    >>> redactor = Redactor.build(names=["Maria Lopez"])
    >>> leaks("Maria (maria@pd.org) was great", redactor)
    ['email', 'name']
    >>> leaks(redactor.redact("Maria (maria@pd.org) was great")[0], redactor)
    []
    """
    _, counts = redactor.redact(text)
    return [kind for kind in KINDS if counts[kind]]


def for_district(educators: pd.DataFrame | None, students: pd.DataFrame | None, terms=(), *, texts=None) -> Redactor:
    """The redactor a district's comments pass through: every educator's name, every educator and student ID
    (a comment may name a student by ID: "ST000123 kept calling out"), and the plan's ``comments: redact:`` terms.
    ``texts``: for those texts only (`Redactor.build`)."""
    names = educators["name"].dropna().astype(str) if educators is not None and "name" in educators else ()
    ids = [
        str(v)
        for frame, column in ((educators, "educator_id"), (students, "student_id"))
        if frame is not None and column in frame
        for v in frame[column].dropna().unique()
    ]
    return Redactor.build(names=names, terms=[*terms, *ids], texts=texts)
