"""Realistic French reader comments for the benchmarks (deterministic, no download).

    .venv/bin/python -m bench.comments [--comments 256] [--seed 0] [--show 5]

A comment is assembled from a few hundred hand-written French sentences in the style of the
comments under a news article (politics, economy, transport, schools, health, sport, culture,
climate, local news...), with openers, closers, replies to other readers and the occasional rude
remark. Lengths are mixed like on a real site: mostly one to three sentences, some paragraphs,
a few long essays of 250 to 420 words (longer than 512 XLM-R tokens).

``comments(n, seed)`` always returns the same list for the same arguments; ``length_sample(n)``
picks ``n`` of 256 comments evenly over their lengths (for short benchmarks); ``corpus_text()``
is all the French text of this module (for training a tokenizer).
"""

from __future__ import annotations

import argparse
import random
import statistics

__all__ = ["LENGTH_BANDS", "TOPICS", "comments", "corpus_text", "length_sample", "word_count"]

# Sentences by topic; a comment mostly stays on one topic, with some general remarks.
TOPICS: dict[str, list[str]] = {
    "politique": [
        "Le gouvernement annonce encore une réforme sans avoir consulté personne.",
        "Chaque ministre arrive avec son plan et repart avant d’en voir le moindre résultat.",
        "On nous promet la concertation, puis tout est décidé par décret un vendredi soir.",
        "L’opposition crie au scandale mais n’a proposé aucune solution crédible.",
        "Les élus locaux sont les seuls à connaître vraiment le terrain.",
        "Cette loi a été votée à trois heures du matin devant un hémicycle presque vide.",
        "Le président parle beaucoup de dialogue, moins de ce qu’il fait concrètement.",
        "Les sondages changent chaque semaine, les problèmes restent les mêmes.",
        "Il faudrait une bonne fois pour toutes limiter le cumul des mandats.",
        "Le Sénat a amendé le texte, reste à savoir ce qu’en fera l’Assemblée.",
        "Le 49.3 n’est pas un gros mot, c’est la Constitution, même si on peut le regretter.",
        "Les promesses de campagne n’engagent que ceux qui y croient.",
        "Je vote depuis quarante ans et je n’ai jamais vu un tel mépris pour les électeurs.",
        "Le référendum d’initiative citoyenne réglerait une partie du problème.",
        "Les partis traditionnels ne savent plus parler aux classes populaires.",
        "La décentralisation est restée au milieu du gué depuis vingt ans.",
        "Le maire a au moins eu le courage de venir s’expliquer en réunion publique.",
        "On confond trop souvent communication politique et action publique.",
        "La commission d’enquête rendra ses conclusions dans six mois, autant dire jamais.",
        "Le conseil municipal a voté la hausse de la taxe foncière à l’unanimité.",
        "Les députés de la majorité se sont abstenus, ce qui en dit long.",
        "Il y a une vraie crise de confiance entre les citoyens et leurs représentants.",
        "Ce remaniement ne change rien, ce sont les mêmes visages qui tournent.",
        "Le budget de l’État est voté en déficit depuis 1974, il serait temps de s’en inquiéter.",
        "L’abstention record aux dernières élections aurait dû servir d’avertissement.",
    ],
    "economie": [
        "Le prix du plein a encore augmenté de dix centimes en un mois.",
        "Les salaires ne suivent pas l’inflation, c’est aussi simple que ça.",
        "Les petits commerçants du centre-ville ferment les uns après les autres.",
        "La zone commerciale à l’entrée de la ville a tué le commerce de proximité.",
        "Mon loyer représente désormais plus de la moitié de mon salaire.",
        "Les grandes entreprises du CAC 40 ont versé des dividendes records cette année.",
        "La dette publique dépasse les trois mille milliards d’euros.",
        "Les artisans ne trouvent plus d’apprentis alors que le chômage des jeunes reste élevé.",
        "Le pouvoir d’achat est devenu la première préoccupation des Français.",
        "Une baguette à un euro vingt, qui l’aurait cru il y a dix ans ?",
        "Les agriculteurs vendent à perte pendant que la grande distribution fait ses marges.",
        "La réforme des retraites va surtout pénaliser ceux qui ont commencé à travailler tôt.",
        "L’usine a fermé en 2019 et rien ne l’a remplacée depuis.",
        "Le télétravail a changé le marché de l’immobilier dans les villes moyennes.",
        "Les banques refusent les prêts aux jeunes couples sans apport.",
        "Le chèque énergie ne couvre même pas une facture mensuelle de chauffage.",
        "Les aides aux entreprises devraient être conditionnées au maintien de l’emploi.",
        "Le marché de Noël attire du monde, mais les restaurateurs disent que ça ne suffit pas.",
        "Le carnet de commandes du chantier naval est plein jusqu’en 2030.",
        "Les fermetures d’agences bancaires isolent encore un peu plus les villages.",
        "Les frais de notaire sont un vrai frein pour les primo-accédants.",
        "La taxe sur les superprofits revient dans le débat à chaque budget.",
        "Les PME sont étranglées par les délais de paiement des grands groupes.",
        "Le SMIC a été revalorisé mais les charges ont augmenté davantage.",
        "La zone industrielle attend toujours le raccordement à la fibre.",
    ],
    "transport": [
        "Le TER de 7 h 42 a encore été supprimé ce matin, sans aucune explication.",
        "La nouvelle ligne de tramway est une réussite, il faut le reconnaître.",
        "Les travaux du boulevard durent depuis dix-huit mois, nul ne sait quand ils finiront.",
        "Faire du vélo dans cette ville reste dangereux malgré les nouvelles pistes cyclables.",
        "Le parking relais est plein dès huit heures, il en faudrait un deuxième.",
        "Supprimer les voitures du centre, c’est bien, encore faut-il proposer une alternative.",
        "Les trottinettes en libre-service sont abandonnées n’importe où sur les trottoirs.",
        "Le prix du billet de train Paris-Lyon est devenu indécent.",
        "La limitation à 30 km/h en ville a réduit le bruit, c’est indéniable.",
        "Les bus de nuit ont été supprimés alors que les étudiants en ont besoin.",
        "Les radars automatiques rapportent surtout de l’argent.",
        "Il faut trois correspondances pour aller de mon village à l’hôpital le plus proche.",
        "La rocade est saturée matin et soir depuis l’ouverture du centre commercial.",
        "Le covoiturage domicile-travail devrait être davantage encouragé par les employeurs.",
        "L’aéroport régional perd des lignes chaque année malgré les subventions.",
        "La gratuité des transports a fait ses preuves à Dunkerque.",
        "Le contrôle technique des deux-roues est une mesure de plus contre les gens modestes.",
        "Les nids-de-poule de la départementale n’ont pas été rebouchés depuis l’hiver.",
        "La SNCF annonce des trains à l’heure, mais pas sur ma ligne apparemment.",
        "Les zones à faibles émissions excluent ceux qui n’ont pas de quoi changer de voiture.",
    ],
    "ecole": [
        "Les enseignants font ce qu’ils peuvent avec des classes de trente élèves.",
        "Mon fils n’a pas eu de professeur de mathématiques pendant trois mois.",
        "Le niveau baisse, mais on continue de distribuer le bac à plus de 90 % des candidats.",
        "Les réformes du lycée s’enchaînent et personne n’a le temps d’en mesurer les effets.",
        "La cantine scolaire propose enfin des produits locaux, c’est une bonne nouvelle.",
        "Les AESH sont payées une misère pour un travail indispensable.",
        "Parcoursup est une machine à stress pour les familles.",
        "On supprime des classes dans les villages et on s’étonne que les familles partent.",
        "L’uniforme à l’école ne réglera aucun des vrais problèmes.",
        "Les écrans en classe, on en revient déjà dans les pays du Nord.",
        "Le harcèlement scolaire doit être pris au sérieux dès la maternelle.",
        "Les devoirs à la maison creusent les inégalités entre les familles.",
        "Le collège du quartier a été rénové, les élèves en sont ravis.",
        "On manque de remplaçants dans toute l’académie depuis la rentrée.",
        "L’apprentissage mérite mieux que l’image de voie de garage qu’on lui colle.",
        "Les universités n’ont plus les moyens d’accueillir tous les étudiants.",
        "Les enseignants démissionnent de plus en plus tôt dans leur carrière.",
        "Le soutien scolaire gratuit proposé par la mairie marche très bien.",
        "Les sorties scolaires sont devenues un parcours administratif du combattant.",
        "Apprendre à lire reste la priorité, tout le reste vient après.",
    ],
    "sante": [
        "Il faut six mois pour obtenir un rendez-vous chez l’ophtalmologiste.",
        "Les urgences de l’hôpital ferment la nuit faute de médecins.",
        "Mon médecin traitant part à la retraite et personne ne reprend son cabinet.",
        "Les soignants sont épuisés et on continue de fermer des lits.",
        "La télémédecine dépanne, mais elle ne remplace pas un examen.",
        "Les déserts médicaux ne concernent plus seulement les campagnes.",
        "Le numerus clausus a été supprimé trop tard.",
        "Les pharmacies manquent d’amoxicilline pour les enfants depuis des semaines.",
        "La maison de santé pluridisciplinaire a changé la vie du village.",
        "Les infirmières libérales font des kilomètres pour un tarif dérisoire.",
        "La santé mentale des jeunes s’est dégradée depuis la crise sanitaire.",
        "Il faudrait obliger les jeunes médecins à exercer quelques années en zone sous-dotée.",
        "Les franchises médicales doublent, encore une fois ce sont les malades qui paient.",
        "La maternité a fermé, il faut maintenant faire une heure de route pour accoucher.",
        "Le dépistage du cancer colorectal est gratuit et pourtant trop peu pratiqué.",
        "Les EHPAD manquent de personnel malgré les promesses répétées.",
        "L’hôpital public tient grâce au dévouement de son personnel.",
        "La vaccination reste le meilleur moyen de protéger les plus fragiles.",
        "Les dépassements d’honoraires rendent certaines spécialités inaccessibles.",
        "Le SAMU a mis quarante minutes à arriver, heureusement que les pompiers étaient là.",
    ],
    "sport": [
        "Quel match hier soir, l’équipe a enfin montré du caractère.",
        "L’entraîneur doit partir, cela fait trois saisons que rien ne fonctionne.",
        "Le club amateur du quartier fait un travail formidable avec les jeunes.",
        "Les prix des places au stade sont devenus inaccessibles pour les familles.",
        "Les Jeux olympiques ont laissé de beaux équipements, encore faut-il les entretenir.",
        "L’arbitrage vidéo devait régler les polémiques, il en crée de nouvelles.",
        "Le XV de France a de quoi viser le titre avec cette génération.",
        "La piscine municipale est fermée pour travaux depuis deux étés.",
        "Le cyclisme féminin mérite autant de couverture médiatique que le Tour de France.",
        "Les salaires des footballeurs n’ont plus aucun rapport avec la réalité.",
        "Le marathon de dimanche a réuni plus de dix mille coureurs, bravo aux bénévoles.",
        "Ce transfert à quatre-vingts millions est une folie.",
        "Les supporters ont encore gâché la fête avec des fumigènes.",
        "Le sport à l’école devrait passer à quatre heures par semaine.",
        "La victoire en Coupe de France reste le plus beau souvenir du club.",
        "Le handball français continue de collectionner les médailles dans l’indifférence.",
        "Le nouveau gymnase a été construit sans vestiaires suffisants, bravo la conception.",
        "Le stade sera rénové pour la saison prochaine, paraît-il.",
    ],
    "culture": [
        "Le festival de cet été était une réussite malgré la chaleur.",
        "La médiathèque devrait ouvrir le dimanche, comme dans beaucoup de villes.",
        "Le cinéma indépendant du centre-ville survit grâce à ses fidèles.",
        "Le patrimoine de nos villages tombe en ruine faute d’entretien.",
        "Le Pass Culture a surtout servi à acheter des mangas, et alors ?",
        "La fermeture de la librairie est une vraie perte pour le quartier.",
        "Le théâtre municipal propose une programmation de grande qualité cette saison.",
        "Les musées gratuits le premier dimanche du mois attirent enfin un nouveau public.",
        "La fête de la musique a été gâchée par quelques imbéciles.",
        "Le concert sur la place a réuni toutes les générations.",
        "L’exposition sur l’histoire du port mérite vraiment le détour.",
        "On parle beaucoup de culture pour tous mais les tarifs augmentent chaque année.",
        "La rénovation de la cathédrale avance, c’est impressionnant à voir.",
        "Le conservatoire a réduit ses heures d’ouverture faute de budget.",
        "Les auteurs vivent de moins en moins de leurs livres.",
        "Ce film a été encensé par la critique, je me suis ennuyé du début à la fin.",
    ],
    "climat": [
        "Cet été, la rivière était à sec pour la troisième année consécutive.",
        "Les restrictions d’eau devraient s’appliquer aussi aux golfs et aux piscines privées.",
        "Les éoliennes défigurent le paysage, mais il faut bien produire de l’électricité.",
        "Le nucléaire reste indispensable si l’on veut vraiment décarboner.",
        "La rénovation énergétique des logements avance beaucoup trop lentement.",
        "Les bassines divisent le monde agricole et on comprend pourquoi.",
        "Le trait de côte recule de plusieurs mètres par an sur notre littoral.",
        "Les canicules à répétition vont obliger à repenser l’urbanisme.",
        "Planter des arbres en ville, c’est bien, arrêter de bétonner, c’est mieux.",
        "Le tri des déchets reste un casse-tête avec les nouvelles consignes.",
        "Les panneaux solaires sur les parkings sont une excellente idée.",
        "Les inondations de l’automne ont montré qu’on construit encore en zone inondable.",
        "La voiture électrique reste hors de prix pour la plupart des ménages.",
        "Les grandes entreprises polluent et on culpabilise les particuliers.",
        "Le chauffage au bois pollue plus qu’on ne le croit.",
        "L’agriculture biologique recule faute de débouchés suffisants.",
        "La forêt a brûlé sur des centaines d’hectares, il faudra des décennies pour la refaire.",
        "Le climatiseur est devenu indispensable dans certaines écoles.",
    ],
    "local": [
        "Le marché du samedi matin est l’âme de notre quartier.",
        "Les incivilités se multiplient près de la gare depuis quelques mois.",
        "La vidéosurveillance n’a jamais remplacé une présence humaine.",
        "Les poubelles débordent dans ma rue depuis une semaine.",
        "Le nouveau lotissement va doubler la circulation dans la rue de l’École.",
        "Bravo aux pompiers qui sont intervenus très rapidement.",
        "La fermeture du bureau de poste est une très mauvaise nouvelle pour les personnes âgées.",
        "Les habitants n’ont pas été consultés sur le projet de parking.",
        "Le quartier a beaucoup changé depuis l’arrivée du tramway.",
        "Les chiens non tenus en laisse dans le parc posent problème.",
        "La fête des voisins reste un moment convivial, il faut la préserver.",
        "Le camping municipal affiche complet tout l’été.",
        "Les commerces du centre ont besoin de places de stationnement, pas de nouvelles amendes.",
        "Le skatepark attire des jeunes de toute l’agglomération.",
        "Les nuisances sonores du bar ont été signalées dix fois à la mairie.",
        "Le pont sera fermé trois semaines pour réparation, bon courage aux frontaliers.",
        "Un grand merci à l’association qui organise la collecte alimentaire chaque hiver.",
        "La piste cyclable s’arrête net au milieu du rond-point, c’est absurde.",
        "Les jardins partagés sont une belle réussite, il en faudrait partout.",
        "Encore un accident au carrefour, combien faudra-t-il de blessés pour installer un feu ?",
    ],
    "numerique": [
        "L’intelligence artificielle va transformer des métiers entiers en quelques années.",
        "Les démarches administratives en ligne excluent ceux qui ne maîtrisent pas Internet.",
        "Les réseaux sociaux ont fait plus de mal que de bien au débat public.",
        "La fibre est arrivée dans le village, il était temps.",
        "Les arnaques par SMS se multiplient, soyez vigilants.",
        "Les enfants passent beaucoup trop de temps devant les écrans.",
        "La protection des données personnelles est une illusion.",
        "Les géants du numérique ne paient presque pas d’impôts en France.",
        "Le paiement sans contact a fait disparaître la monnaie de nos poches.",
        "Le site de la préfecture est en panne depuis trois jours, pas moyen d’avoir rendez-vous.",
        "Il faudrait interdire le téléphone portable au collège, pas seulement en classe.",
        "Les algorithmes enferment chacun dans sa bulle.",
    ],
}

# Remarks that fit under any article.
GENERAL: list[str] = [
    "Je ne suis pas du tout d’accord avec cette analyse.",
    "Article intéressant, mais il manque le point de vue des principaux concernés.",
    "C’est exactement ce que je dis depuis des années.",
    "Encore une fois, on découvre le problème quand il est trop tard.",
    "Il faudrait peut-être demander l’avis des gens qui vivent ici.",
    "Tout cela était prévisible.",
    "On marche sur la tête.",
    "Ce n’est pas si simple, la réalité est plus nuancée.",
    "Les chiffres cités dans l’article mériteraient d’être vérifiés.",
    "Je vous invite à relire l’article avant de commenter.",
    "Merci pour ce reportage qui change des dépêches habituelles.",
    "Le problème, c’est qu’on ne prend jamais le temps d’évaluer ce qui a été fait.",
    "Il y a du vrai dans ce que vous dites, mais vous oubliez l’essentiel.",
    "Personne n’a le courage de dire les choses clairement.",
    "On nous prend vraiment pour des imbéciles.",
    "Je parle d’expérience : j’ai vécu exactement la même situation l’an dernier.",
    "Ma grand-mère disait déjà la même chose dans les années soixante.",
    "Au lieu de critiquer, proposez quelque chose.",
    "C’est toujours les mêmes qui paient.",
    "Soyons sérieux deux minutes.",
    "À force de tout vouloir réglementer, on finit par ne plus rien faire.",
    "Il faut arrêter de tout mettre sur le dos de l’Europe.",
    "Je trouve ce titre un peu racoleur par rapport au contenu.",
    "Il serait bon que la rédaction fasse un suivi de ce dossier dans six mois.",
    "On verra bien dans un an, mais je ne me fais pas d’illusions.",
    "Tout le monde est d’accord sur le constat, personne sur les solutions.",
    "Les commentaires ici sont plus instructifs que l’article lui-même.",
    "Vous mélangez tout, ce sont deux sujets différents.",
    "Ce qui est dit dans l’article est malheureusement vrai.",
    "Je ne comprends pas comment on a pu en arriver là.",
    "C’est une honte, tout simplement.",
    "Bon courage à tous ceux qui sont concernés.",
    "On attend des actes, pas des discours.",
    "La question mérite d’être posée sans caricature.",
    "Il suffit de regarder ce qui se fait chez nos voisins allemands.",
    "Comparer avec les pays scandinaves n’a aucun sens, le contexte est différent.",
    "Ce n’est pas une question de gauche ou de droite, c’est du bon sens.",
    "J’ai l’impression qu’on tourne en rond depuis trente ans.",
    "Quelle tristesse de voir ça.",
    "Enfin une bonne nouvelle !",
    "Franchement, qui peut encore croire à ces annonces ?",
    "Cela fait plaisir de lire un article aussi bien documenté.",
    "Je serais curieux de connaître le coût total de l’opération.",
    "L’argent public n’est pas gratuit, c’est le nôtre.",
    "Il faut savoir ce qu’on veut.",
    "Chacun voit midi à sa porte.",
    "Ce débat revient tous les ans et rien ne change.",
    "Il n’y a pas de solution miracle, mais il y a des solutions.",
    "Certains commentaires font froid dans le dos.",
    "Relisez la loi, ce n’est pas du tout ce qu’elle dit.",
]

# Rude remarks (a moderation site sees some): mild insults, no slurs.
RUDE: list[str] = [
    "Il faut vraiment être idiot pour croire une chose pareille.",
    "Bande d’incapables, démissionnez tous !",
    "Vous êtes complètement à côté de la plaque, mon pauvre.",
    "Quel ramassis de bêtises, ça ne vole pas haut.",
    "Retournez à l’école avant de donner des leçons.",
    "Ces gens-là sont des escrocs, ni plus ni moins.",
    "Ferme-la, tu ne sais pas de quoi tu parles.",
    "C’est vraiment n’importe quoi, quelle bande de guignols.",
    "Encore un troll payé pour défendre le gouvernement.",
    "Vous êtes un crétin fini et vous le savez.",
    "Espèce d’abruti, tu n’as rien compris à l’article.",
    "Ils nous prennent pour des pigeons, ces clowns.",
]

OPENERS: list[str] = [
    "Bonjour,",
    "Bonjour à tous,",
    "Bravo pour cet article.",
    "Merci pour cet article.",
    "Tout à fait d’accord.",
    "Pas d’accord du tout.",
    "Mouais.",
    "Sérieusement ?",
    "Pour info,",
    "Petite précision :",
    "Je réagis à l’article :",
    "Encore ?",
    "Ah bon ?",
    "Triste constat.",
    "Excellent article.",
    "En tant qu’habitant du quartier,",
    "En tant qu’enseignante,",
    "En tant que médecin,",
    "Ancien cheminot ici.",
    "Je me permets de réagir.",
]

CLOSERS: list[str] = [
    "Bonne journée.",
    "Cordialement.",
    "Affaire à suivre.",
    "Mais bon, on a l’habitude.",
    "Ça promet…",
    "Voilà, c’est dit.",
    "Merci de m’avoir lu.",
    "Réveillez-vous !",
    "À méditer.",
    "Pathétique.",
    "On verra bien.",
    "Courage.",
    "Bref.",
    "Je dis ça, je ne dis rien.",
    "Fin du débat.",
    "Bien à vous.",
    "Signé : un lecteur fidèle depuis vingt ans.",
    "Honteux !!!",
    "Triste époque.",
    "Vivement les prochaines élections.",
]

# Replies to another reader (the name is filled in).
REPLIES: list[str] = [
    "@{name} Vous avez raison sur le fond, pas sur la forme.",
    "@{name} Je ne vois pas le rapport avec l’article.",
    "@{name} Merci pour ces précisions, je l’ignorais.",
    "@{name} Faux, renseignez-vous avant d’affirmer ce genre de chose.",
    "@{name} Exactement, je n’aurais pas mieux dit.",
    "@{name} Vous avez une source pour ces chiffres ?",
    "@{name} C’est un peu facile comme raisonnement.",
    "@{name} Je partage entièrement votre avis.",
    "Réponse à {name} : vous caricaturez la position des autres.",
    "{name}, relisez l’article, c’est écrit noir sur blanc.",
]

NAMES = [
    "Jean-Pierre", "Sylvie", "Marc_du_69", "Nathalie", "Citoyen33", "Hélène", "Paulo",
    "Le_Breton", "Françoise", "Karim", "Mme Lefèvre", "Gégé", "Anne-Sophie", "Thierry",
    "Lecteur_Libre", "Yannick", "Chantal", "Rémi", "Ouest_avant_tout", "Zoé",
]  # fmt: skip

# Short follow-ups that give a long comment a more spoken, written-in-one-go feel.
FRAGMENTS: list[str] = [
    "Et pourtant, tout le monde le savait.",
    "Je m’explique.",
    "Prenons un exemple concret.",
    "Pour être honnête,",
    "D’ailleurs,",
    "Autre chose :",
    "Cela dit,",
    "Bref, passons.",
    "Et ce n’est pas fini.",
    "Je le répète :",
    "Il y a pire, hélas.",
    "On en reparlera.",
    "Pourquoi ?",
    "Résultat ?",
    "Comme d’habitude.",
    "Je ne parle même pas du reste.",
    "Deuxième point :",
    "En clair,",
    "Soyons clairs :",
    "Pour conclure,",
]

EMOJIS = ["😡", "👍", "🙄", "😂", "👏", "🤔", "😢"]

# (share of comments, min words, max words): one line ... long essays (> 512 tokens).
LENGTH_BANDS: list[tuple[float, int, int]] = [
    (0.30, 3, 25),
    (0.32, 25, 80),
    (0.22, 80, 160),
    (0.11, 160, 300),
    (0.05, 330, 420),
]


def word_count(text: str) -> int:
    """Whitespace-separated words."""
    return len(text.split())


def _sentence(rng: random.Random, topic: str) -> str:
    roll = rng.random()
    if roll < 0.62:
        return rng.choice(TOPICS[topic])
    if roll < 0.86:
        return rng.choice(GENERAL)
    if roll < 0.91:
        other = rng.choice(sorted(TOPICS))
        return rng.choice(TOPICS[other])
    if roll < 0.97:
        return rng.choice(FRAGMENTS)
    return rng.choice(RUDE)


def _casual(rng: random.Random, text: str) -> str:
    """Some readers type fast: no capitals, no accents on some words, shouting, emojis."""
    roll = rng.random()
    if roll < 0.06:
        text = text.lower()
    elif roll < 0.08:
        text = text.upper()
    elif roll < 0.12:
        table = str.maketrans("éèêàùçô", "eeeauco")
        text = " ".join(w.translate(table) if rng.random() < 0.5 else w for w in text.split())
    if rng.random() < 0.07:
        text = f"{text} {rng.choice(EMOJIS)}"
    if rng.random() < 0.05:
        text = text.replace(".", "...", 1)
    return text


def _comment(rng: random.Random) -> str:
    roll = rng.random()
    band = 0
    while band < len(LENGTH_BANDS) - 1 and roll >= LENGTH_BANDS[band][0]:
        roll -= LENGTH_BANDS[band][0]
        band += 1
    target = rng.randint(LENGTH_BANDS[band][1], LENGTH_BANDS[band][2])
    topic = rng.choice(sorted(TOPICS))
    parts: list[str] = []
    if rng.random() < 0.12:
        parts.append(rng.choice(REPLIES).format(name=rng.choice(NAMES)))
    elif rng.random() < 0.25:
        parts.append(rng.choice(OPENERS))
    words = sum(word_count(p) for p in parts)
    paragraph: list[str] = []
    paragraphs: list[str] = []
    recent: list[str] = []
    while words < target or not (paragraph or paragraphs):
        sentence = _sentence(rng, topic)
        if sentence in recent:
            continue
        recent = [*recent[-12:], sentence]
        paragraph.append(sentence)
        words += word_count(sentence)
        if len(paragraph) >= 3 and rng.random() < 0.3:
            paragraphs.append(" ".join(paragraph))
            paragraph = []
    if paragraph:
        paragraphs.append(" ".join(paragraph))
    if rng.random() < 0.2:
        paragraphs[-1] += " " + rng.choice(CLOSERS)
    body = "\n\n".join(paragraphs)
    text = " ".join([*parts, body]) if parts else body
    return _casual(rng, text)


def comments(n: int = 256, seed: int = 0) -> list[str]:
    """``n`` French comments of mixed lengths; the same list for the same ``(n, seed)``."""
    rng = random.Random(seed)
    return [_comment(rng) for _ in range(n)]


def length_sample(n: int, seed: int = 0, pool: int = 256) -> list[str]:
    """``n`` comments spread evenly over the lengths of ``comments(max(n, pool), seed)``.

    A small benchmark then has the same mix of short and long comments as a large one (the
    longest comment of the pool always included), in a shuffled, deterministic order.
    """
    candidates = sorted(comments(max(n, pool), seed), key=word_count)
    if n <= 0:
        return []
    step = (len(candidates) - 1) / max(n - 1, 1)
    picked = [candidates[round(i * step)] for i in range(n)]
    random.Random(seed).shuffle(picked)
    return picked


def corpus_text() -> list[str]:
    """Every French line of this module (sentences, openers, replies...), for tokenizer training."""
    lines = [s for topic in sorted(TOPICS) for s in TOPICS[topic]]
    lines += GENERAL + RUDE + OPENERS + CLOSERS + FRAGMENTS
    lines += [r.format(name=name) for r in REPLIES for name in NAMES[:3]]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=5, help="print this many comments")
    parser.add_argument("--sample", action="store_true", help="length_sample() instead")
    args = parser.parse_args()
    pick = length_sample if args.sample else comments
    texts = pick(args.comments, args.seed)
    counts = sorted(word_count(t) for t in texts)
    print(f"{len(texts)} comments, {sum(counts)} words; words per comment:")
    print(
        f"  min {counts[0]}, median {statistics.median(counts):.0f}, "
        f"mean {statistics.fmean(counts):.0f}, p90 {counts[int(0.9 * (len(counts) - 1))]}, "
        f"max {counts[-1]}"
    )
    print(f"  over 330 words: {sum(c > 330 for c in counts)}")
    for text in texts[: args.show]:
        print("-" * 72)
        print(text)


if __name__ == "__main__":
    main()
