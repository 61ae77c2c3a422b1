# palabre — chaînes françaises.
# Chaque clé doit exister aussi dans i18n/en/palabre.ftl (la référence) ; tests/i18n.rs le vérifie.
# Les nombres à virgule arrivent déjà formatés (en texte) ; les nombres entiers arrivent en nombres.

## Fenêtre

app-title = palabre
heading = Réglages du son
intro = Choisissez votre micro et vos haut-parleurs, réglez le seuil de voix sur l’indicateur de niveau, puis essayez le test d’écho.
dismiss = Fermer

## Langue

language-label = Langue
language-system = Langue du système
language-en = English
language-fr = Français

## Périphériques

input-device-label = Micro
output-device-label = Haut-parleurs
device-system-default = Choix du système
device-default-mark = { $name } (par défaut)
device-missing = { $name } (introuvable)
device-refresh = Chercher à nouveau les périphériques
test-sound-play = Jouer un son d’essai
input-opened = Micro utilisé : { $name }
output-opened = Haut-parleurs utilisés : { $name }
input-not-open = Le micro n’est pas encore ouvert.
output-not-open = Les haut-parleurs ne sont pas encore ouverts.
device-lost-fallback = Le périphérique « { $name } » a disparu ; palabre utilise maintenant « { $fallback } ».
device-lost-none = Le périphérique « { $name } » a disparu et aucun autre n’a pu être ouvert.

## Indicateur de niveau et seuil de voix

level-heading = Niveau du micro
level-value = { $level } dB
level-silence = silence
level-a11y = Niveau du micro : { $level } dB. Le seuil de voix s’ouvre au-dessus de { $threshold } dB.
gate-checkbox = Seuil de voix : n’envoyer le son que quand je parle
gate-threshold-label = Le seuil s’ouvre au-dessus de
gate-hint = Parlez normalement : la barre doit dépasser le repère. Taisez-vous : elle doit rester à sa gauche.
speaking = Vous parlez
silent = Vous ne parlez pas
gate-off = Seuil désactivé : tout est envoyé

## Traitement

processing-heading = Traitement du son
denoise-checkbox = Réduction du bruit
echo-cancel-checkbox = Suppression de l’écho
preset-label = Qualité du son
preset-sober = Sobre (peu de débit)
preset-standard = Standard
preset-high = Haute (musique)
transmit-label = Envoyer ma voix
transmit-voice = Quand je parle (détection de la voix)
transmit-push-to-talk = Quand je tiens une touche (appuyer pour parler)
push-to-talk-hint = Maintenez { $key } pour parler quand cette fenêtre est au premier plan.
push-to-talk-hint-global = Maintenez { $key } pour parler, même quand une autre fenêtre est au premier plan.

## Test d’écho

echo-test-heading = Test d’écho
echo-test-explain = Vous vous entendez à travers toute la chaîne d’appel, comme les autres vous entendraient.
echo-test-start = Lancer le test d’écho
echo-test-stop = Arrêter le test d’écho
echo-test-starting = Démarrage…
echo-test-stopping = Arrêt…
echo-test-running = Le test d’écho est en cours : parlez, puis écoutez.
echo-summary-sound = Dernier test d’écho : la chaîne d’appel a transmis { $seconds } s de son en { $packets ->
        [one] { $packets } paquet
       *[other] { $packets } paquets
    } ({ $kilobytes } ko).
echo-summary-network = Paquets perdus : { $lost } ; arrivés trop tard : { $late } ; reconstruits par la correction d’erreurs : { $recovered }. Morceaux de 10 ms manquants comblés : { $concealed }.
echo-summary-delay = Délai ajouté par palabre : { $delay } ms, en plus de celui de vos périphériques (attente moyenne dans le tampon de gigue : { $jitter } ms).

## Erreurs (du moteur audio)

error-heading = Un problème est survenu
error-no-such-device = { $direction ->
        [input] Il n’y a pas de micro nommé « { $wanted } ».
       *[output] Il n’y a pas de sortie audio nommée « { $wanted } ».
    } { $count ->
        [0] Aucun autre périphérique n’a été trouvé.
       *[other] Disponibles : { $available }.
    }
error-no-device = { $direction ->
        [input] Aucun micro n’a été trouvé sur cet ordinateur.
       *[output] Aucune sortie audio n’a été trouvée sur cet ordinateur.
    }
error-open-failed = { $direction ->
        [input] Le micro « { $name } » n’a pas pu être ouvert : { $reason }
       *[output] La sortie audio « { $name } » n’a pas pu être ouverte : { $reason }
    }
error-wav = Le fichier son { $path } n’a pas pu être utilisé : { $reason }
error-codec = Le codec audio Opus a échoué : { $reason }
error-invalid-setting = Un réglage n’est pas valable : { $reason }
engine-stopped = Le moteur audio s’est arrêté. Relancez palabre pour retrouver le son.

## Fichier de réglages

settings-heading = Réglages
settings-save-failed = Vos réglages n’ont pas pu être enregistrés : { $reason }
config-create-dir-failed = le dossier { $path } n’a pas pu être créé : { $reason }
config-serialize-failed = les réglages n’ont pas pu être écrits en TOML : { $reason }
config-write-failed = le fichier { $path } n’a pas pu être écrit : { $reason }
config-rename-failed = le fichier { $from } n’a pas pu être renommé en { $to } : { $reason }
config-no-writer = aucun fil d’exécution n’a pu être lancé pour les écrire
decibel-suffix = { "\u00A0" }dB
settings-no-dir = Aucun dossier n’a été trouvé pour garder vos réglages : les changements durent jusqu’à la fermeture de palabre.
config-corrupt = Le fichier de réglages { $path } n’a pas pu être lu ({ $reason }). Il a été conservé sous le nom { $backup } et palabre a démarré avec les réglages par défaut.
config-corrupt-not-kept = Le fichier de réglages { $path } n’a pas pu être lu ({ $reason }) ni mis de côté ({ $error }). palabre a démarré avec les réglages par défaut ; les enregistrer remplacera ce fichier.

## Start screen

home-heading = Rejoindre une réunion
home-intro = Collez un lien de réunion, ou choisissez un serveur dans l’annuaire ci-dessous.
link-label = Lien de réunion ou adresse du serveur
link-hint = mumble://serveur/salon, https://meet.exemple.org/Salle ou un nom de serveur
link-open = Ouvrir
open-named = Ouvrir { $name }
link-error-heading = Ce lien n’a pas pu être ouvert
link-error = palabre n’a pas pu lire ce lien : { $reason }
link-empty = le lien est vide : collez un lien mumble://, un lien Jitsi Meet https:// ou un nom de serveur
link-not-a-link = « { $input } » n’est pas un lien de réunion que palabre comprend : attendu mumble://serveur, un lien Jitsi Meet https:// ou un nom de serveur
link-unknown-scheme = palabre n’ouvre pas les liens « { $scheme }: » : attendu mumble://serveur, un lien Jitsi Meet https:// ou un nom de serveur
link-missing-scheme = « { $input } » n’a pas de schéma : écrivez https://{ $input } pour une salle Jitsi Meet, ou mumble://{ $input } pour un serveur Mumble
link-missing-host = le lien ne nomme aucun serveur : mettez le nom du serveur après « :// »
link-invalid-host = « { $host } » n’est pas un nom ou une adresse de serveur valide
link-invalid-port = « { $port } » n’est pas un port valide : utilisez un nombre de 1 à 65535
link-jitsi-user-info = les liens Jitsi Meet ne portent ni nom d’utilisateur ni mot de passe : retirez la partie avant « @ » dans le nom du serveur
link-missing-room = { $link } n’a pas de nom de salle : ajoutez la salle après la dernière barre oblique
link-too-many-segments = { $link } a trop de parties après le nom du serveur : un lien Jitsi Meet est https://serveur/salle ou https://serveur/espace/salle
link-invalid-room-name = « { $room } » n’est pas un nom de salle valide : il ne peut contenir ni / ? # @ : ni caractères de contrôle
link-room-name-too-long = le nom de la salle est trop long : { $length } octets, 256 au plus
link-invalid-tenant = « { $tenant } » n’est pas un nom d’espace valide : il ne peut contenir ni / ? # @ : ni caractères de contrôle, ni dépasser 256 octets
link-too-many-channels = le chemin de salons a { $count } niveaux ; palabre en suit 32 au plus
link-channel-name-too-long = un nom de salon du lien fait { $length } octets ; 512 au plus sont permis
link-invalid-text = { $part ->
    [username] le nom d’utilisateur
    [password] le mot de passe
    [channel] le nom de salon
    [tenant] le nom d’espace
   *[room] le nom de salle
} du lien n’est pas un texte valide une fois ses échappements % décodés
audio-setup-open = Réglages audio et test d’écho
back = Retour
title-with-host = { $name } — { $host }
favourites-heading = Favoris
favourites-empty = Pas encore de favoris : utilisez l’étoile à côté d’un serveur ou d’une salle.
favourite-add = Ajouter aux favoris
favourite-remove = Retirer des favoris
favourite-add-named = Ajouter { $name } aux favoris
favourite-remove-named = Retirer { $name } des favoris
recent-heading = Salles récentes
recent-empty = Les salles que vous rejoignez apparaîtront ici.

own-servers-heading = Vos serveurs
own-servers-empty = Aucun pour l’instant : ajoutez ci-dessous le serveur de votre association ou de votre travail.
own-server-remove = Retirer
own-server-remove-named = Retirer { $name } de vos serveurs
own-server-add-heading = Ajouter un serveur
own-server-name-label = Nom
own-server-name-hint = p. ex. Notre association
own-server-address-label = Adresse
own-server-address-hint = voix.exemple.org ou un lien
own-server-protocol-label = Type
own-server-add = Ajouter
own-server-hint = L’adresse est le nom d’un serveur (avec :port si besoin) ou n’importe quel lien vers lui ; le type d’un lien l’emporte sur celui choisi ici. Rien n’est contacté avant que vous l’ouvriez.
own-server-no-address = Tapez d’abord l’adresse du serveur.
own-server-not-an-address = « { $address } » n’est pas une adresse de serveur : tapez un nom comme voix.exemple.org, ou collez un lien.
own-server-already-there = { $host } est déjà parmi vos serveurs.
own-server-full = Vous avez déjà { $max } serveurs : retirez-en un pour en ajouter un autre.

## Directory

directory-heading = Annuaire
directory-intro = Serveurs publics connus de palabre. Aucun n’est contacté avant que vous le rejoigniez.
directory-search-label = Rechercher
directory-search-hint = nom, ville, organisation, pays
directory-protocol-label = Type
protocol-all = Tous
protocol-jitsi = Jitsi Meet
protocol-mumble = Mumble
directory-none = Aucun serveur ne correspond à cette recherche.
instance-details = { $host } · { $organisation } · { $country } · { $protocol }
organisation-kind = { $kind ->
    [association] association
    [associative-isp] FAI associatif
    [cooperative] coopérative
    [research-network] réseau de recherche
    [free-software-association] association du logiciel libre
    [community-network] réseau communautaire
    [official-instance] l’instance officielle
    [hacklab-collective] collectif hacklab
   *[other] { $kind }
}
organisation-described = { $organisation } ({ $kind })
organisation-described-town = { $organisation } ({ $kind }, { $town })
instance-login = compte requis
instance-unconfirmed = non vérifié récemment
instance-unconfirmed-hint = Personne n’a vérifié récemment que ce serveur répond encore.
instance-check = Vérifier
instance-check-named = Vérifier si { $name } répond
instance-checking = vérification…
instance-up = répond en { $ms } ms
instance-up-users = répond en { $ms } ms · { $users } sur { $max } personnes
instance-down = ne répond pas
probe-query-not-built = La requête n’a pas pu être construite.
probe-not-mumble = { $host } a répondu, mais pas comme un serveur Mumble.
probe-no-answer = { $host } n’a pas répondu en { $seconds } secondes (il est peut-être arrêté, ou refuse les requêtes).
probe-tls-not-prepared = TLS n’a pas pu être préparé : { $reason }.
probe-invalid-name = { $host } n’est pas un nom de serveur valide.
probe-unreachable = { $host } est injoignable ({ $reason }).
probe-tls-not-started = TLS n’a pas pu démarrer : { $reason }.
probe-not-jitsi = { $host } a répondu, mais n’a pas de configuration Jitsi Meet (HTTP { $code }).
probe-not-web = { $host } n’a pas répondu comme un serveur web.
probe-name-not-found = Le nom { $host } est introuvable ({ $reason }).
probe-no-address = Le nom { $host } n’a pas d’adresse.
probe-untrusted-certificate = { $host } a présenté un certificat qu’aucune autorité reconnue ne garantit.
probe-tls-failed = La connexion sécurisée à { $host } a échoué ({ $reason }).

## Before joining

name-label = Votre nom
name-needed = Saisissez le nom que les autres verront.
password-label = Mot de passe du serveur
password-hint = seulement si le serveur en demande un
audio-only-checkbox = Audio seulement
audio-only-hint = Le son seulement : les caméras des autres ne sont pas reçues et la vôtre reste éteinte. La vidéo coûte environ 25 fois les données du son.
audio-only-mumble = Mumble ne transporte que le son : il n’y a pas de vidéo sur ce serveur.
audio-only-no-video = Cette version de palabre n’a pas de vidéo : vous rejoindrez avec le son seulement.
camera-label = Caméra
camera-first = Première caméra trouvée
camera-test-pattern = Image de test (sans caméra)
camera-none-found = Aucune caméra trouvée.
camera-on = Allumer la caméra
camera-off = Éteindre la caméra
camera-audio-only = Désactivez « Audio seulement » pour utiliser la caméra.
video-of = Caméra de { $name }
join = Rejoindre
room-needed = Quelle salle sur { $host } ? Saisissez son nom.
room-label = Nom de la salle
room-continue = Continuer

## Call

stage-connecting = Connexion…
stage-connecting-step = Connexion : { $step }
stage-connected = Connecté
stage-leaving = Départ…
stage-reconnecting = Connexion perdue ({ $reason }). Nouvelle tentative dans { $seconds } s (essai { $attempt }).
stage-ended = Terminé : { $reason }
stage-ended-unexpectedly = Terminé : la connexion à la conférence s’est arrêtée de façon inattendue.
call-ended-failed = L’appel s’est terminé à cause d’un problème.
certificate-changed-question = Ne faites confiance au nouveau certificat que si les administrateurs du serveur confirment l'avoir changé.
certificate-trust = Faire confiance au nouveau certificat et rejoindre
back-to-start = Retour à l’accueil
traffic = Envoi { $up } kbit/s · réception { $down } kbit/s · { $total } Mo consommés
notice-heading = Message du serveur
mute = Couper le micro
unmute = Rétablir le micro
deafen = Couper le son
raise-hand = Lever la main
lower-hand = Baisser la main
undeafen = Rétablir le son
chat = Discussion
chat-unread = Discussion ({ $count })
leave = Quitter
participants-heading = { $count ->
        [one] Un participant
       *[other] { $count } participants
    }
rooms-hint = Double-cliquez sur un salon, ou utilisez son bouton « Rejoindre », pour y aller.
room-join = Rejoindre
room-join-named = Rejoindre le salon { $name }
room-double-click = Double-cliquez pour aller dans ce salon
participant-you = { $name } (vous)
participant-muted = micro coupé
participant-deafened = micro et son coupés
participant-hand = main levée
participant-speaking = { $name } parle
participant-write = Écrire
participant-write-named = Écrire en privé à { $name }
participant-silent = { $name } ne parle pas
chat-heading = Messages
chat-to-private = À { $name }, en privé
chat-to-everyone = À tout le monde
chat-hint = Écrivez un message au salon
chat-message-label = Message
chat-send = Envoyer
chat-empty = Pas encore de messages.
chat-from = { $name } :
chat-private = { $name } (en privé) :
chat-own = Vous :

## Écran des réglages

settings-open = Réglages
settings-screen-heading = Réglages
settings-devices-heading = Périphériques
settings-audio-heading = Son
shortcuts-heading = Raccourcis clavier
push-to-talk-key-label = Touche pour parler
mute-key-label = Couper ou rétablir le micro en appel
key-space = Espace
shortcut-ctrl = Ctrl+{ $key }
shortcut-off = Aucun raccourci
shortcut-hint = Raccourci : { $shortcut }
shortcuts-hint = La touche pour parler sert quand « Envoyer ma voix » est réglé sur « Quand je tiens une touche ». Les raccourcis fonctionnent quand la fenêtre de palabre est au premier plan et que vous n’écrivez pas dans un champ de texte. Sur un bureau X11, une touche de fonction (F1 à F12) choisie pour parler marche aussi pendant un appel quand une autre fenêtre est au premier plan.
appearance-heading = Langue et apparence
theme-label = Couleurs
theme-system = Comme le système
theme-light = Claires
theme-dark = Sombres
text-size-label = Taille du texte
text-size-percent = { $percent } %
text-size-hint = Tout le contenu de la fenêtre grandit avec le texte.

## Ce que disent la connexion et la conférence (pilotes et adaptateurs, en phrases)

identity-failed = Votre certificat n’a pas pu être chargé ni créé ({ $reason }) ; connexion sans certificat.
connection-not-started = La connexion n’a pas pu démarrer : { $reason }.
mumble-connecting = Connexion à { $server }…
mumble-logging-in = Identification sur { $server } en tant que { $name }…
mumble-connected = Connecté.
mumble-left = Vous avez quitté le serveur.
mumble-voice-udp = La voix passe par UDP.
mumble-voice-tcp = La voix passe par la connexion TCP (UDP ne passe pas).
mumble-bandwidth-limited = Le serveur n’autorise que { $cap } kbit/s par personne : son réglé à { $bitrate } kbit/s en paquets de { $frame } ms.
mumble-channel-not-found = Il n’y a pas de salon { $channel } sur ce serveur ; vous restez où vous êtes.
mumble-registered = Votre nom est maintenant enregistré sur ce serveur.
mumble-codec-warning = Le serveur demande un codec plus ancien qu’Opus ; palabre garde Opus, donc de très vieux clients risquent de ne pas vous entendre.
mumble-reject-none = Le serveur a refusé la connexion.
mumble-reject-wrong-version = Le serveur n’accepte pas cette version de palabre.
mumble-reject-invalid-username = Le serveur n’accepte pas ce nom d’utilisateur. Choisissez-en un autre.
mumble-reject-wrong-user-password = Ce nom d’utilisateur est enregistré sur le serveur, et le certificat ou le mot de passe donné pour lui est incorrect.
mumble-reject-wrong-server-password = Le mot de passe du serveur manque ou est incorrect.
mumble-reject-username-in-use = Quelqu’un sur le serveur utilise déjà ce nom d’utilisateur. Choisissez-en un autre.
mumble-reject-server-full = Le serveur est plein. Réessayez plus tard.
mumble-reject-no-certificate = Le serveur n’accepte que les utilisateurs qui présentent un certificat.
mumble-reject-authenticator-failed = Le serveur n’a pas pu vérifier l’identification : son service d’authentification a échoué. Réessayez plus tard.
mumble-reject-no-new-connections = Le serveur n’accepte pas de nouvelles connexions pour le moment. Réessayez plus tard.
mumble-reject-unknown = Le serveur a refusé la connexion (code de raison { $code }).
mumble-reject-server-said = { $why } Le serveur a dit : { $reason }
mumble-server-full-count = Le serveur est plein ({ $users } utilisateurs sur { $max }). Réessayez plus tard.
mumble-closed-during-login = Le serveur a fermé la connexion pendant l’identification ({ $detail }).
mumble-connection-lost = La connexion au serveur a été perdue ({ $detail }).
mumble-login-timeout = Le serveur n’a pas terminé l’identification en 30 secondes.
mumble-stopped-answering = Le serveur ne répond plus (aucune réponse à 4 pings en 20 secondes).
mumble-kicked = Vous avez été expulsé du serveur{ $by }{ $reason }.
mumble-banned = Vous avez été banni du serveur{ $by }{ $reason }.
mumble-removed-by = { " " }par { $name }
mumble-removed-reason = { "\u00A0" }: { $reason }
mumble-bad-voice-key = Le serveur a envoyé une clé de chiffrement de la voix inutilisable ({ $reason }).
mumble-no-session-number = Le serveur a terminé l’identification sans donner de numéro de session.
mumble-protocol-error = Le serveur a envoyé des données que palabre ne peut pas accepter, la connexion est donc fermée : { $reason }.
mumble-name-not-found = Le nom de serveur { $host } est introuvable ({ $reason }).
mumble-name-lookup-timeout = La recherche du nom de serveur { $host } a expiré.
mumble-unreachable = Impossible de joindre { $server } ({ $reason }).
mumble-tls-not-prepared = La connexion sécurisée à { $server } n’a pas pu être préparée : { $reason }.
mumble-tls-failed = La connexion sécurisée à { $server } a échoué ({ $reason }).
mumble-tls-timeout = La connexion sécurisée à { $server } a expiré.
jitsi-not-encrypted = Attention : { $link } n’est pas chiffré (http://) : ne l’utilisez que pour un serveur de test local.
jitsi-looking-up = Lecture des réglages de { $host }…
jitsi-connecting = Connexion à { $host }…
jitsi-asking-for-meeting = Connecté ; demande de la réunion…
jitsi-waiting-focus = La réunion est en préparation…
jitsi-waiting-host = En attente de l’organisateur pour commencer la réunion…
jitsi-waiting-lobby = Cette réunion a une salle d’attente : en attente qu’un modérateur vous fasse entrer…
jitsi-waiting-for-offer = Dans la réunion ; en attente de l’offre média de la conférence…
jitsi-unreadable-media-message = La conférence a envoyé un message média que palabre ne sait pas lire : { $reason }
jitsi-connecting-audio = Connexion du son…
jitsi-offer-refused = L’offre média n’a pas pu être acceptée : { $reason }
jitsi-media-session-ended = La conférence a arrêté la session média ({ $reason }) ; en attente d’une nouvelle…
jitsi-audio-connected = Son connecté.
jitsi-audio-interrupted = La connexion du son est interrompue…
jitsi-audio-back = La connexion du son est revenue.
jitsi-audio-lost-restart = La connexion du son est perdue ; demande d’une nouvelle à la réunion…
jitsi-audio-lost-no-restart = La connexion du son est perdue, et cette réunion ne peut pas en ouvrir une nouvelle.
jitsi-bridge-fallback = Le canal du pont ne s’est pas ouvert ; essai par le WebSocket du pont…
jitsi-bridge-socket-open = Le canal du pont est ouvert (WebSocket).
jitsi-no-bridge-channel = Ce pont n’offre aucun canal utilisable : pas d’indication de qui parle.
jitsi-muted-by-moderator = Un modérateur a coupé votre micro.
jitsi-started-muted = Dans cette réunion, les nouveaux arrivants commencent micro coupé : votre micro reste coupé jusqu’à ce que vous le réactiviez.
jitsi-left = Vous avez quitté la réunion.
jitsi-password-required = Cette réunion est protégée par un mot de passe.
jitsi-password-wrong = Le mot de passe de la réunion est incorrect.
jitsi-name-required = Cette réunion demande votre nom avant que vous puissiez frapper : choisissez un nom.
jitsi-members-only = Seuls les membres invités peuvent rejoindre cette réunion.
jitsi-room-full = La réunion est complète.
jitsi-login-required = Cette réunion demande une connexion : les invités ne peuvent pas la rejoindre.
jitsi-lobby-refused = Un modérateur ne vous a pas laissé entrer dans la réunion.
jitsi-kicked = Un modérateur vous a retiré de la réunion.
jitsi-room-destroyed = La réunion a été terminée pour tout le monde.
jitsi-no-reason = sans raison donnée
jitsi-reason-with-text = { $condition } : { $text }
jitsi-focus-refused = Le focus de la réunion a refusé la conférence ({ $detail }).
jitsi-focus-no-answer = Le focus de la réunion ({ $focus }) n’a pas répondu : le serveur Jitsi Meet est peut-être en panne ou surchargé.
jitsi-room-no-answer = La salle de réunion n’a pas répondu à la demande de palabre pour y entrer.
jitsi-room-never-created = La salle de réunion n’a jamais été créée par le focus du serveur.
jitsi-name-conflict = Quelqu’un dans la réunion utilise déjà le nom de palabre sur le serveur.
jitsi-meeting-refused = La réunion a refusé palabre ({ $detail }).
jitsi-lobby-not-entered = La salle d’attente de la réunion n’a pas pu être rejointe.
jitsi-disconnected = Déconnecté.
jitsi-server-closed = Le serveur a fermé la connexion.
jitsi-connection-lost-pings = La connexion au serveur a été perdue (pas de réponse aux pings).
jitsi-opening-timeout = Le serveur n’a pas terminé la connexion à temps.
call-type-password = Taper le mot de passe et rejoindre à nouveau
form-password-needed = Ce serveur ou cette réunion demande un mot de passe : tapez-le ci-dessous, puis rejoignez.
form-password-wrong = Le mot de passe a été refusé : tapez-le à nouveau, puis rejoignez.
quality-unknown = Connexion : mesure en cours…
quality-good = Connexion : bonne
quality-fair = Connexion : moyenne
quality-poor = Connexion : mauvaise
quality-rtt = aller-retour { $ms } ms
quality-loss = { $percent } % perdus
quality-hint = L’aller-retour est le temps qu’un paquet met pour aller au serveur et revenir ; « perdus » est la part du son des autres qui n’est pas arrivée. Au-delà de 300 ms ou 3 %, la conversation en souffre ; au-delà de 600 ms ou 10 %, elle devient difficile.

## Jitsi Meet : la lecture des réglages de l’instance (config.js) a échoué
discovery-too-large = La configuration Jitsi Meet de ce serveur (config.js) dépasse 1 Mio, plus que ce que palabre lit.
discovery-not-java-script = La configuration Jitsi Meet de ce serveur (config.js) n’est pas du JavaScript valide : { $detail }.
discovery-script-failed = La configuration Jitsi Meet de ce serveur (config.js) s’est arrêtée sur une erreur : { $detail }.
discovery-too-slow = La configuration Jitsi Meet de ce serveur (config.js) a mis plus d’une seconde à s’exécuter, palabre l’a donc arrêtée.
discovery-too-much-memory = La configuration Jitsi Meet de ce serveur (config.js) a demandé plus de 32 Mio de mémoire, palabre l’a donc arrêtée.
discovery-too-deep = La configuration Jitsi Meet de ce serveur (config.js) s’imbrique trop profondément, palabre l’a donc arrêtée.
discovery-interpreter = palabre n’a pas pu démarrer son interpréteur JavaScript ({ $detail }).
discovery-no-config = Le config.js de ce serveur ne définit aucune configuration Jitsi Meet (pas d’objet `config`) : ce n’est peut-être pas un serveur Jitsi Meet.
discovery-missing = La configuration Jitsi Meet de ce serveur n’indique pas de { $what } ({ $field }).
discovery-bad-value = La configuration Jitsi Meet de ce serveur a un { $field } inutilisable : { $reason }.
discovery-bosh-only = Ce serveur n’offre XMPP que par BOSH (sa configuration n’a pas d’adresse WebSocket), et palabre ne se connecte que par WebSocket.
discovery-downgrade = Le lien de la salle est sécurisé (https), mais la configuration du serveur indique une adresse WebSocket non chiffrée ({ $url }) ; palabre ne se connecte pas sans chiffrement.
discovery-host-not-found = Le nom de serveur { $host } est introuvable : vérifiez le lien de la salle.
discovery-connect = palabre n’a pas pu se connecter à { $host } ({ $detail }).
discovery-untrusted = { $host } a présenté un certificat qu’aucune autorité de confiance ne garantit. Pour une instance privée, donnez le certificat de son autorité avec --ca-file.
discovery-bad-certificate = { $host } a présenté un certificat qui ne peut pas être accepté ({ $detail }).
discovery-tls = La connexion sécurisée à { $host } a échoué ({ $detail }).
discovery-not-found = { $host } n’a pas de configuration Jitsi Meet à { $url } (HTTP 404) : ce n’est pas un serveur Jitsi Meet, ou le lien de la salle est faux.
discovery-http-status = { $host } a répondu HTTP { $status } au lieu de sa configuration Jitsi Meet.
discovery-too-many-redirects = { $host } a redirigé palabre plus de 5 fois sans donner sa configuration.
discovery-insecure-redirect = { $host } a redirigé palabre d’une adresse sécurisée (https) vers une adresse non chiffrée ({ $url }) ; palabre ne la suit pas.
discovery-timeout = { $host } n’a pas envoyé sa configuration Jitsi Meet en { $seconds } secondes.
discovery-not-utf8 = { $host } a envoyé une configuration Jitsi Meet qui n’est pas du texte UTF-8.
discovery-ca-file = Le fichier de certificat { $path } n’a pas pu être utilisé : { $detail }.
discovery-http = La récupération de la configuration Jitsi Meet depuis { $host } a échoué ({ $detail }).
discovery-what-domain = domaine XMPP
discovery-what-muc = domaine des salles de conférence

## Jitsi Meet : échecs de connexion et des médias
jitsi-lookup-stopped = La recherche des réglages s’est arrêtée de façon inattendue.
jitsi-no-udp = Pas de socket UDP pour les médias : { $error }.
jitsi-no-answer = { $host } n’a pas répondu en 15 secondes.
jitsi-thread-stopped = Le fil d’exécution réseau s’est arrêté.
jitsi-bridge-socket-closed = Le WebSocket du pont s’est fermé ; reconnexion…
jitsi-bridge-socket-no-answer = Le WebSocket du pont n’a pas répondu en 15 secondes.
jitsi-socket-no-host = L’adresse WebSocket n’a pas d’hôte.
jitsi-socket-unreachable = { $host } est injoignable ({ $error }).
jitsi-socket-bad-name = { $host } n’est pas un nom de serveur valide.
jitsi-socket-tls-failed = La connexion sécurisée à { $host } a échoué : { $error }.
jitsi-socket-bad-address = L’adresse WebSocket est inutilisable : { $error }.
jitsi-socket-bad-origin = { $host } n’est pas une origine valide.
jitsi-socket-refused-xmpp = { $host } a refusé le WebSocket XMPP : { $error }.
jitsi-socket-refused-bridge = { $host } a refusé le WebSocket du pont : { $error }.
media-no-audio = La conférence n’a proposé aucun son.
media-no-description = L’offre audio de la conférence n’a pas de description.
media-no-opus = La conférence ne propose pas le codec Opus, le seul que palabre parle.
media-no-transport = L’offre de la conférence n’a pas de transport réseau.
media-no-ice-credentials = L’offre de la conférence n’a pas d’identifiants ICE.
media-no-fingerprint = L’offre de la conférence n’a pas d’empreinte DTLS.
media-bad-fingerprint = L’empreinte DTLS de la conférence est mal formée.
media-dtls-not-started = DTLS n’a pas pu démarrer : { $error }.
media-failed = La connexion des médias a échoué : { $error }.
media-closed = Le pont a fermé la connexion des médias.
media-no-address = palabre n’a aucune adresse réseau à proposer au pont de la conférence.

## Mumble : demandes refusées par le serveur
mumble-denied-permission = Vous n’avez pas le droit de faire cela dans ce salon.
mumble-denied-permission-in = Vous n’avez pas le droit de faire cela dans le salon « { $channel } ».
mumble-denied-full = Le salon est plein.
mumble-denied-full-in = Le salon « { $channel } » est plein.
mumble-denied-too-long = Le message est trop long pour ce serveur.
mumble-denied-no-certificate = L’enregistrement demande un certificat, et aucun n’a été présenté.
mumble-denied-user-name = Ce nom d’utilisateur ne peut pas être enregistré.
mumble-denied-temporary = Cela ne peut pas se faire dans un salon temporaire.
mumble-denied-superuser = Cela ne peut pas se faire au SuperUser.
mumble-denied-repeat = Le serveur a refusé le message comme une répétition.
mumble-denied-reason = Le serveur a refusé : { $reason }
mumble-denied = Le serveur a refusé la demande.
mumble-text-not-connected = Pas connecté.
mumble-text-too-long = Le message est trop long pour ce serveur ({ $limit } caractères permis).

## Certificats des serveurs (Mumble)
trust-ca-verified = Le certificat de { $server } est garanti par une autorité reconnue.
trust-pinned = Le certificat de { $server } est celui accepté lors des connexions précédentes.
trust-first-use = Première connexion à { $server } : son certificat ({ $fingerprint }) a été accepté et sera vérifié lors des prochaines connexions.
trust-replaced = Le certificat de { $server } avait changé (c’était { $old }, c’est maintenant { $new }) ; le nouveau a été accepté comme vous l’avez demandé et sera vérifié lors des prochaines connexions.
trust-changed = Le certificat de { $server } a changé depuis votre dernière connexion (c’était { $old }, c’est maintenant { $new }). Cela peut signifier que quelqu’un intercepte la connexion. Connectez-vous avec --accept-new-certificate seulement si l’administrateur du serveur confirme le changement.

## Vidéo : la caméra et le codec
camera-list-failed = Les caméras n’ont pas pu être listées : { $error }.
camera-none = Aucune caméra n’a été trouvée sur cet ordinateur.
camera-open-failed = La caméra n’a pas pu être ouverte : { $error }.
camera-start-failed = La caméra n’a pas voulu démarrer : { $error }.
camera-stopped = La caméra s’est arrêtée : { $error }.
camera-format-unreadable = La caméra envoie ses images en { $format }, que palabre ne sait pas lire ; essayez une autre caméra.
video-not-built = Cette version de palabre n’a pas de vidéo (elle a été construite sans la fonction `video`).
codec-init = Le codec VP8 n’a pas pu démarrer (erreur libvpx { $code }).
codec-decode = Une image VP8 n’a pas pu être décodée (erreur libvpx { $code }).
codec-encode = Une image n’a pas pu être encodée en VP8 (erreur libvpx { $code }).
codec-too-big = Un flux vidéo fait { $width }×{ $height } pixels, plus que ce que palabre affiche.

## Jitsi Meet : la connexion XMPP
xmpp-unexpected-while-opening = Le serveur a envoyé <{ $element }/> pendant l’ouverture de la connexion.
xmpp-no-binding = Le serveur n’a proposé aucune liaison de ressource après la connexion.
xmpp-unexpected-login-answer = Le serveur a répondu à la connexion par <{ $element }/>.
xmpp-binding-failed = Le serveur n’a pas donné d’adresse à palabre (la liaison de ressource a échoué).
xmpp-stream-error-text = Le serveur a mis fin à la connexion : { $condition } ({ $text }).
xmpp-stream-error = Le serveur a mis fin à la connexion : { $condition }.
xmpp-no-guests = Le serveur { $domain } n’accepte pas d’invités (pas de connexion anonyme) : cette réunion demande un compte.
xmpp-no-password-login = Le serveur { $domain } n’accepte pas ici de nom d’utilisateur et de mot de passe.
xmpp-wrong-password = Le serveur a refusé la connexion : nom d’utilisateur ou mot de passe erroné.
xmpp-guest-refused = Le serveur { $domain } a refusé une connexion d’invité ({ $reason }).
xmpp-account-disabled = Ce compte est désactivé.
xmpp-login-refused = Le serveur a refusé la connexion ({ $reason }).
jitsi-answer-refused = Le serveur de conférence a refusé la description des médias de palabre ({ $detail }).
jitsi-answer-unanswered = Le serveur de conférence n’a pas répondu à la description des médias de palabre.
jitsi-answer-connection-ended = La connexion s’est terminée.
codec-bad-picture = Une image de { $width }×{ $height } pixels ne peut pas être encodée (impaire, trop petite, trop grande ou incomplète).
