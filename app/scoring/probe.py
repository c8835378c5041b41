"""French comments the model is probed with (`model check`, and `model export`'s comparison).

``PROBES`` covers what the site receives: polite, critical, sarcastic, insulting, obscene,
threatening and hateful comments, typed carefully or not (accents, capitals, emoji,
abbreviations), and long comments of several windows (over 512 tokens) with the insult at the
end or in the middle, so that a comparison of two runtimes also compares their windows.
"""

from __future__ import annotations

__all__ = ["PROBE", "PROBES"]

PROBE = "Merci pour cet article, je ne suis pas d’accord avec la conclusion."

_CONTEXT = (
    "Je lis ce journal depuis des années et je voudrais revenir sur plusieurs points de cet "
    "article, parce qu’il me semble que la question est plus compliquée qu’elle n’en a l’air. "
    "D’abord, les chiffres cités datent de l’an dernier, alors que la situation a beaucoup "
    "changé depuis : les prix de l’énergie ont baissé, les salaires ont un peu augmenté et le "
    "chômage des jeunes a reculé dans plusieurs régions, notamment en Bretagne et en "
    "Occitanie. Ensuite, l’article oublie de dire que la réforme a été votée après des mois de "
    "concertation avec les syndicats, les élus locaux et les associations de consommateurs, "
    "qui ont obtenu des changements importants sur le calendrier et sur les aides prévues "
    "pour les ménages modestes. "
)
_DETAIL = (
    "Dans ma commune, par exemple, la mairie a organisé trois réunions publiques, "
    "on a pu poser nos questions au préfet, et les réponses étaient claires, même si tout le "
    "monde n’était pas convaincu. Mon voisin, qui est agriculteur, m’expliquait hier que les "
    "nouvelles règles l’obligent à remplir des formulaires supplémentaires chaque mois, ce "
    "qui lui prend une journée entière, et il se demande à quoi servent toutes ces données. "
    "Je comprends sa colère, mais je pense aussi que sans contrôle, les abus reviendraient "
    "très vite, comme on l’a vu il y a dix ans avec les subventions détournées. "
)
_ENDING = (
    "Bref, je trouve que votre journaliste aurait pu interroger davantage de personnes sur le "
    "terrain au lieu de reprendre les communiqués du ministère, et j’espère lire bientôt une "
    "enquête plus approfondie sur le sujet. Merci quand même pour le travail accompli."
)
_LONG_POLITE = _CONTEXT + _DETAIL * 3 + _ENDING
_LONG_INSULT_AT_END = (
    _CONTEXT + _DETAIL * 3 + "Et franchement, l’auteur de cet article est un connard fini."
)
_LONG_THREAT_INSIDE = (
    _CONTEXT
    + _DETAIL
    + "Si je croise ce journaliste dans la rue, je lui casse la gueule, je sais où il habite. "
    + _DETAIL * 2
    + _ENDING
)

PROBES: tuple[str, ...] = (
    PROBE,
    "Très bel article, bien documenté. Bravo à la rédaction !",
    "Merci pour ce reportage, on apprend beaucoup sur la vie quotidienne à Raqqa.",
    "Je ne partage pas du tout votre analyse : les chiffres de l’Insee disent l’inverse.",
    "Article partial et mal renseigné, comme d’habitude. Je me désabonne.",
    "Encore un papier écrit depuis Paris par quelqu’un qui n’a jamais mis les pieds en province…",
    "Ah oui, bien sûr, tout va très bien madame la marquise 🙄",
    "Ce ministre est incompétent et devrait démissionner.",
    "Quel idiot ce journaliste, il n’a rien compris au dossier.",
    "Espèce de connard, retourne écrire pour ton torchon.",
    "Bande d’abrutis, vous êtes tous des vendus !!!",
    "C’est de la merde, cet article. Rien à en tirer.",
    "Putain mais quelle bande de cons, ça me dégoûte 🤬🤬",
    "Va te faire foutre, sale con.",
    "Je sais où tu habites, tu vas le regretter.",
    "On devrait tous les pendre, ces traîtres.",
    "Si je le croise, je lui casse la gueule.",
    "Ces gens-là ne sont pas des Français, qu’ils rentrent chez eux.",
    "Les femmes n’ont rien à faire en politique, retournez à la cuisine.",
    "Elle ferait mieux de montrer ses seins au lieu de parler d’économie.",
    "ARRÊTEZ DE NOUS PRENDRE POUR DES IMBÉCILES !!!",
    "mdr t ki toi pr dir sa ? tu c rien",
    "Ça, c’est un vrai scandale d’État, à quand la démission ?",
    "Élégant, précis, nuancé : exactement ce qu’on attend d’un quotidien. 👏😊",
    "La guerre en Syrie a fait des centaines de milliers de morts, n’oublions pas les victimes.",
    "L’auteur confond « corrélation » et « causalité », relisez vos cours de statistiques.",
    "Bonjour, petite coquille au troisième paragraphe : « ils a » au lieu de « ils ont ».",
    _LONG_POLITE,
    _LONG_INSULT_AT_END,
    _LONG_THREAT_INSIDE,
)
