"""A small hand-written multilingual evaluation set (German, French, Spanish), BEIR layout.

16 topics, each written as one passage in each language, and one question per topic in each of
those languages and in English (64 questions). A question's relevant passages are its topic's
three passages (same facts, any language), so the set measures same-language and cross-language
retrieval (English questions have no English passage). Written for leann-edge; no outside
data. `python3 benches/multilingual/topics.py OUT` writes OUT/corpus.jsonl, queries.jsonl and
qrels.tsv.
"""
import json
import os
import sys

# English questions (no English passages): a question in one language, the answer in others.
ENGLISH_QUESTIONS = {
    'wifi': 'How do I change the password of my wifi network?',
    'descale': 'How often should the coffee machine be descaled?',
    'library': "What are the library's opening hours on Saturday?",
    'battery': 'How long does the vacuum cleaner battery last?',
    'bread': 'At what temperature is the bread baked?',
    'trash': 'When is the paper bin emptied?',
    'printer': 'What should I do about a paper jam in the printer?',
    'heating': 'How much energy does one degree lower heating save?',
    'train': 'Can I take my bicycle on the train?',
    'plants': 'When should I water my house plants in winter?',
    'fever': 'When should you see a doctor for a fever?',
    'passport': 'What do I need to apply for a new passport?',
    'update': 'How do I update the software of my TV?',
    'bike': 'What tyre pressure does my bike need?',
    'museum': 'When is admission to the museum free?',
    'backup': 'How often should I back up my photos?',
}

# topic: {lang: (passage, question)}
TOPICS = {
    "wifi": {
        "de": ("Um das WLAN-Passwort des Routers zu ändern, öffnen Sie die Adresse 192.168.1.1 im Browser, melden Sie sich als Administrator an und wählen Sie unter Drahtlosnetz den Punkt Sicherheit.",
               "Wie ändere ich das Passwort für mein WLAN?"),
        "fr": ("Pour changer le mot de passe Wi-Fi du routeur, ouvrez l'adresse 192.168.1.1 dans le navigateur, connectez-vous en tant qu'administrateur et choisissez Sécurité dans le menu Réseau sans fil.",
               "Comment modifier le mot de passe de mon réseau Wi-Fi ?"),
        "es": ("Para cambiar la contraseña del wifi del router, abra la dirección 192.168.1.1 en el navegador, inicie sesión como administrador y elija Seguridad en el menú Red inalámbrica.",
               "¿Cómo cambio la contraseña de mi red wifi?"),
    },
    "descale": {
        "de": ("Die Kaffeemaschine sollte alle vier Wochen entkalkt werden. Füllen Sie den Wassertank mit einer Mischung aus Wasser und Zitronensäure und starten Sie das Reinigungsprogramm.",
               "Wie oft muss die Kaffeemaschine entkalkt werden?"),
        "fr": ("La machine à café doit être détartrée toutes les quatre semaines. Remplissez le réservoir d'un mélange d'eau et d'acide citrique puis lancez le programme de nettoyage.",
               "À quelle fréquence faut-il détartrer la machine à café ?"),
        "es": ("La cafetera debe descalcificarse cada cuatro semanas. Llene el depósito con una mezcla de agua y ácido cítrico y ponga en marcha el programa de limpieza.",
               "¿Cada cuánto tiempo hay que descalcificar la cafetera?"),
    },
    "library": {
        "de": ("Die Stadtbibliothek ist von Dienstag bis Freitag von 10 bis 19 Uhr und samstags bis 14 Uhr geöffnet. Montags bleibt sie geschlossen.",
               "Wann hat die Bibliothek am Samstag geöffnet?"),
        "fr": ("La bibliothèque municipale est ouverte du mardi au vendredi de 10 h à 19 h et le samedi jusqu'à 14 h. Elle est fermée le lundi.",
               "Quels sont les horaires de la bibliothèque le samedi ?"),
        "es": ("La biblioteca municipal abre de martes a viernes de 10 a 19 horas y los sábados hasta las 14 horas. Los lunes permanece cerrada.",
               "¿A qué hora abre la biblioteca los sábados?"),
    },
    "battery": {
        "de": ("Der Akku des Staubsaugers hält etwa 40 Minuten. Laden Sie ihn vollständig auf, bevor Sie das Gerät zum ersten Mal benutzen, und lagern Sie ihn nicht bei Frost.",
               "Wie lange hält der Akku des Staubsaugers?"),
        "fr": ("La batterie de l'aspirateur dure environ 40 minutes. Chargez-la complètement avant la première utilisation et ne la stockez pas par temps de gel.",
               "Quelle est l'autonomie de la batterie de l'aspirateur ?"),
        "es": ("La batería de la aspiradora dura unos 40 minutos. Cárguela por completo antes del primer uso y no la guarde a temperaturas bajo cero.",
               "¿Cuánto dura la batería de la aspiradora?"),
    },
    "bread": {
        "de": ("Für ein einfaches Brot mischen Sie 500 Gramm Mehl, 350 Milliliter Wasser, 10 Gramm Salz und etwas Hefe. Lassen Sie den Teig zwölf Stunden gehen und backen Sie ihn bei 230 Grad.",
               "Bei welcher Temperatur wird das Brot gebacken?"),
        "fr": ("Pour un pain simple, mélangez 500 grammes de farine, 350 millilitres d'eau, 10 grammes de sel et un peu de levure. Laissez lever la pâte douze heures et faites-la cuire à 230 degrés.",
               "À quelle température faut-il cuire le pain ?"),
        "es": ("Para un pan sencillo mezcle 500 gramos de harina, 350 mililitros de agua, 10 gramos de sal y un poco de levadura. Deje fermentar la masa doce horas y hornéela a 230 grados.",
               "¿A qué temperatura se hornea el pan?"),
    },
    "trash": {
        "de": ("Der Restmüll wird jeden zweiten Montag abgeholt, die Papiertonne am ersten Donnerstag im Monat. Gelbe Säcke stellen Sie am Vorabend an die Straße.",
               "Wann wird die Papiertonne geleert?"),
        "fr": ("Les ordures ménagères sont ramassées un lundi sur deux et la poubelle à papier le premier jeudi du mois. Sortez les sacs jaunes la veille au soir.",
               "Quand la poubelle à papier est-elle vidée ?"),
        "es": ("La basura general se recoge cada dos lunes y el contenedor de papel el primer jueves de cada mes. Saque las bolsas amarillas la noche anterior.",
               "¿Cuándo se vacía el contenedor de papel?"),
    },
    "printer": {
        "de": ("Wenn der Drucker Papierstau meldet, schalten Sie ihn aus, öffnen Sie die hintere Klappe und ziehen Sie das Blatt langsam mit beiden Händen heraus.",
               "Was tun bei einem Papierstau im Drucker?"),
        "fr": ("Si l'imprimante signale un bourrage papier, éteignez-la, ouvrez le capot arrière et retirez lentement la feuille avec les deux mains.",
               "Que faire en cas de bourrage papier dans l'imprimante ?"),
        "es": ("Si la impresora indica un atasco de papel, apáguela, abra la tapa trasera y retire la hoja despacio con las dos manos.",
               "¿Qué hago si se atasca el papel en la impresora?"),
    },
    "heating": {
        "de": ("Stellen Sie die Heizung nachts auf 17 Grad und tagsüber auf 20 Grad. Jedes Grad weniger spart etwa sechs Prozent Energie.",
               "Wie viel Energie spart ein Grad weniger Raumtemperatur?"),
        "fr": ("Réglez le chauffage sur 17 degrés la nuit et sur 20 degrés la journée. Chaque degré en moins économise environ six pour cent d'énergie.",
               "Combien d'énergie économise-t-on en baissant le chauffage d'un degré ?"),
        "es": ("Ponga la calefacción a 17 grados por la noche y a 20 grados durante el día. Cada grado menos ahorra aproximadamente un seis por ciento de energía.",
               "¿Cuánta energía se ahorra bajando un grado la calefacción?"),
    },
    "train": {
        "de": ("Der Zug nach Lyon fährt täglich um 7:42 Uhr von Gleis 3 ab. Fahrräder dürfen nur mit Reservierung mitgenommen werden.",
               "Darf ich mein Fahrrad im Zug mitnehmen?"),
        "fr": ("Le train pour Lyon part tous les jours à 7 h 42 de la voie 3. Les vélos ne sont acceptés qu'avec une réservation.",
               "Puis-je prendre mon vélo dans le train ?"),
        "es": ("El tren a Lyon sale todos los días a las 7:42 desde la vía 3. Las bicicletas solo se admiten con reserva.",
               "¿Puedo llevar mi bicicleta en el tren?"),
    },
    "plants": {
        "de": ("Zimmerpflanzen wie der Gummibaum brauchen im Winter weniger Wasser. Gießen Sie erst, wenn die oberen zwei Zentimeter der Erde trocken sind.",
               "Wann sollte ich meine Zimmerpflanzen im Winter gießen?"),
        "fr": ("Les plantes d'intérieur comme le caoutchouc ont besoin de moins d'eau en hiver. N'arrosez que lorsque les deux premiers centimètres de terre sont secs.",
               "Quand arroser mes plantes d'intérieur en hiver ?"),
        "es": ("Las plantas de interior como el ficus necesitan menos agua en invierno. Riegue solo cuando los dos primeros centímetros de tierra estén secos.",
               "¿Cuándo debo regar mis plantas de interior en invierno?"),
    },
    "fever": {
        "de": ("Bei Fieber über 39 Grad, das länger als drei Tage anhält, sollten Sie einen Arzt aufsuchen. Trinken Sie viel und ruhen Sie sich aus.",
               "Wann sollte man mit Fieber zum Arzt gehen?"),
        "fr": ("En cas de fièvre au-dessus de 39 degrés qui dure plus de trois jours, consultez un médecin. Buvez beaucoup et reposez-vous.",
               "Quand faut-il consulter un médecin en cas de fièvre ?"),
        "es": ("Si la fiebre supera los 39 grados y dura más de tres días, acuda al médico. Beba mucho líquido y descanse.",
               "¿Cuándo hay que ir al médico por fiebre?"),
    },
    "passport": {
        "de": ("Einen neuen Reisepass beantragen Sie persönlich im Bürgeramt. Bringen Sie ein biometrisches Foto und den alten Pass mit; die Bearbeitung dauert etwa drei Wochen.",
               "Was brauche ich, um einen neuen Reisepass zu beantragen?"),
        "fr": ("Un nouveau passeport se demande en personne à la mairie. Apportez une photo biométrique et l'ancien passeport ; le traitement prend environ trois semaines.",
               "Que faut-il apporter pour demander un nouveau passeport ?"),
        "es": ("El nuevo pasaporte se solicita en persona en la oficina municipal. Lleve una foto biométrica y el pasaporte antiguo; el trámite tarda unas tres semanas.",
               "¿Qué necesito para solicitar un pasaporte nuevo?"),
    },
    "update": {
        "de": ("Um die Software des Fernsehers zu aktualisieren, öffnen Sie Einstellungen, dann Support und Software-Update. Das Gerät startet danach automatisch neu.",
               "Wie aktualisiere ich die Software meines Fernsehers?"),
        "fr": ("Pour mettre à jour le logiciel du téléviseur, ouvrez Paramètres, puis Assistance et Mise à jour du logiciel. L'appareil redémarre ensuite automatiquement.",
               "Comment mettre à jour le logiciel de ma télévision ?"),
        "es": ("Para actualizar el software del televisor, abra Ajustes, luego Soporte y Actualización de software. Después el aparato se reinicia automáticamente.",
               "¿Cómo actualizo el software de mi televisor?"),
    },
    "bike": {
        "de": ("Der Reifendruck eines Stadtrads sollte zwischen 3,5 und 5 bar liegen. Prüfen Sie ihn einmal im Monat mit einer Pumpe mit Manometer.",
               "Welchen Reifendruck braucht mein Fahrrad?"),
        "fr": ("La pression des pneus d'un vélo de ville doit être comprise entre 3,5 et 5 bars. Vérifiez-la une fois par mois avec une pompe équipée d'un manomètre.",
               "Quelle pression mettre dans les pneus de mon vélo ?"),
        "es": ("La presión de los neumáticos de una bicicleta urbana debe estar entre 3,5 y 5 bares. Compruébela una vez al mes con una bomba con manómetro.",
               "¿Qué presión necesitan las ruedas de mi bicicleta?"),
    },
    "museum": {
        "de": ("Der Eintritt ins Stadtmuseum kostet 8 Euro, für Schüler und Studenten 4 Euro. Am ersten Sonntag im Monat ist der Eintritt frei.",
               "Wann ist der Eintritt ins Museum kostenlos?"),
        "fr": ("L'entrée du musée de la ville coûte 8 euros, 4 euros pour les élèves et les étudiants. Elle est gratuite le premier dimanche du mois.",
               "Quand l'entrée du musée est-elle gratuite ?"),
        "es": ("La entrada al museo de la ciudad cuesta 8 euros y 4 euros para alumnos y estudiantes. El primer domingo de cada mes la entrada es gratuita.",
               "¿Cuándo es gratis la entrada al museo?"),
    },
    "backup": {
        "de": ("Sichern Sie Ihre Fotos mindestens einmal pro Woche auf eine externe Festplatte und bewahren Sie eine zweite Kopie an einem anderen Ort auf.",
               "Wie oft sollte ich meine Fotos sichern?"),
        "fr": ("Sauvegardez vos photos au moins une fois par semaine sur un disque dur externe et conservez une deuxième copie dans un autre lieu.",
               "À quelle fréquence dois-je sauvegarder mes photos ?"),
        "es": ("Haga una copia de seguridad de sus fotos al menos una vez por semana en un disco duro externo y guarde una segunda copia en otro lugar.",
               "¿Cada cuánto debo hacer una copia de seguridad de mis fotos?"),
    },
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "corpus.jsonl"), "w") as c, \
         open(os.path.join(out, "queries.jsonl"), "w") as q, \
         open(os.path.join(out, "qrels.tsv"), "w") as r:
        r.write("query-id\tcorpus-id\tscore\n")
        for topic, langs in TOPICS.items():
            for lang, (passage, question) in langs.items():
                pid = f"{topic}-{lang}"
                c.write(json.dumps({"id": pid, "title": "", "text": passage,
                                    "metadata": {"lang": lang}}, ensure_ascii=False) + "\n")
                q.write(json.dumps({"_id": f"q-{pid}", "text": question,
                                    "metadata": {"lang": lang}}, ensure_ascii=False) + "\n")
                for other in langs:
                    r.write(f"q-{pid}\t{topic}-{other}\t1\n")
            q.write(json.dumps({"_id": f"q-{topic}-en", "text": ENGLISH_QUESTIONS[topic],
                                "metadata": {"lang": "en"}}) + "\n")
            for other in langs:
                r.write(f"q-{topic}-en\t{topic}-{other}\t1\n")


if __name__ == "__main__":
    main()
