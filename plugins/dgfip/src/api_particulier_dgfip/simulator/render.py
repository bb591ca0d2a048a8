# ruff: noqa: E501  (the templates keep the upstream markup on its original long lines)
"""HTML pages of the simulator, shaped like the recorded SVAIR pages (upstreams.md §1.3)."""

from __future__ import annotations

from html import escape

from msgspec import UNSET

from ..dataset import Notice

NBSP = "\u00a0"

_HEAD = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-type" content="text/html; charset=UTF-8" />
<title>Impots.gouv.fr - Service de vérification en ligne des avis</title>
<link href="/secavis/css/style.css" rel="styleSheet" type="text/css" />
</head>
<body>
<div id="conteneur">
<div id="principal">
"""

_FOOT = """</div>
<div id="bas_page">© Ministère de l'Économie et des Finances</div><img src="/secavis/img/hit.gif?p=AFFICHAGE::{tag}" alt="" height="1" width="1" />
</div>
</body>
</html>"""


def form_page(view_state: str, *, action: str = "commun/index.jsf", extra: str = "") -> str:
    """The form of a GET, or the page behind an error (``extra`` carries the message)."""
    return (
        _HEAD
        + extra
        + f"""<div class="titre2">Saisissez les identifiants</div><form id="j_id_7" name="j_id_7" method="post" action="/secavis/faces/{action}" enctype="application/x-www-form-urlencoded">
<table>
<tr><td><label for="j_id_7:spi">Numéro fiscal</label></td>
<td><input id="j_id_7:spi" name="j_id_7:spi" type="text" value="" maxlength="13" size="15" tabindex="1" autocomplete="off" /></td></tr>
<tr><td><label for="j_id_7:num_facture">Référence de l'avis</label></td>
<td><input id="j_id_7:num_facture" name="j_id_7:num_facture" type="text" value="" maxlength="13" size="15" tabindex="2" autocomplete="off" /></td></tr>
<tr><td colspan="2"><div class="bloc_boutons"><input id="j_id_7:j_id_l" name="j_id_7:j_id_l" type="submit" value="Valider" class="valider" tabindex="3" /></div></td></tr>
</table><input type="hidden" name="j_id_7_SUBMIT" value="1" /><input type="hidden" name="javax.faces.ViewState" id="j_id__v_0:javax.faces.ViewState:1" value="{escape(view_state)}" /></form>
"""
        + _FOOT.format(tag="Saisie_Identifiants")
    )


def not_found_page(view_state: str) -> str:
    message = (
        '<div id="nonTrouve">Vous devez vérifier les identifiants saisis : ils ne '
        "correspondent pas à un avis d'impôt sur le revenu.</div>\n"
    )
    return form_page(view_state, action="avis/notfound_error.jsf", extra=message).replace(
        "Saisie_Identifiants", "Erreur_Avis_Non_Trouve"
    )


def blocked_page(view_state: str) -> str:
    message = '<div class="titre2"><span class="interdit">Accès Interdit</span></div>\n'
    return form_page(view_state, action="avis/acces_error.jsf", extra=message).replace(
        "Saisie_Identifiants", "Erreur_Acces"
    )


def garbage_page() -> str:
    return _HEAD + "<div>Service momentanément indisponible</div>\n" + _FOOT.format(tag="Erreur")


def money(value: int | None, *, taxable_row: bool) -> str:
    if value is None:
        return "Non imposable" if taxable_row else " "
    sign = "-" if value < 0 else ""
    digits = f"{abs(value):,}".replace(",", NBSP)
    return f"{sign}{digits} €"


def parts(value: float) -> str:
    return f"{value:.2f}"


def result_page(notice: Notice) -> str:
    avis = notice.avis
    d1, d2 = avis.declarant1, avis.declarant2
    rows: list[str] = [
        _declarant_row("label", "", "Déclarant 1", "Déclarant 2"),
        _declarant_row("labelPair", "Nom", d1.nom, d2.nom),
        _declarant_row("labelImpair", "Nom de naissance", d1.nomNaissance, d2.nomNaissance),
        _declarant_row("labelPair", "Prénom(s)", d1.prenoms, d2.prenoms),
        _declarant_row("labelImpair", "Date de naissance", d1.dateNaissance, d2.dateNaissance),
    ]
    lines = notice.address_lines()
    label = f"Adresse déclarée au 1<sup>er</sup> janvier  {escape(avis.anneeImpots)}"
    rows.append(
        f'<tr>\n<td class="labelPair">\n\t{label}\n</td>\n'
        f'<td class="labelPair">{escape(lines[0])}\n</td>\n<td class="labelPair">\n</td>\n</tr>'
    )
    for line in lines[1:]:
        rows.append(
            '<tr>\n<td class="labelPair">\n</td>\n'
            f'<td colspan="2" class="labelPair">{escape(line)}\n</td>\n</tr>'
        )
    rows.append('<tr>\n<td class="espace"></td>\n</tr>')
    recovery = avis.dateRecouvrement if avis.dateRecouvrement is not UNSET else ""
    scalars = [
        ("Date de mise en recouvrement de l'avis d'impôt", recovery),
        ("Date d'établissement", avis.dateEtablissement),
        ("Nombre de part(s)", parts(avis.nombreParts)),
        ("Situation de famille", avis.situationFamille),
        ("Nombre de personne(s) à charge", str(avis.nombrePersonnesCharge)),
        ("Revenu brut global", money(avis.revenuBrutGlobal, taxable_row=False)),
        ("Revenu imposable", money(avis.revenuImposable, taxable_row=True)),
        (
            "Impôt sur le revenu net avant corrections",
            money(avis.impotRevenuNetAvantCorrections, taxable_row=True),
        ),
        ("Montant de l'impôt", money(avis.montantImpot, taxable_row=True)),
        ("Revenu fiscal de référence", money(avis.revenuFiscalReference, taxable_row=False)),
    ]
    for index, (name, value) in enumerate(scalars):
        parity = "Pair" if index % 2 == 0 else "Impair"
        rows.append(
            f'<tr>\n<td class="label{parity}" colspan="2">{escape(name)}\n</td>\n'
            f'<td class="text{parity}">{escape(value)}\n</td>\n</tr>'
        )
    partial = ""
    if avis.situationPartielle is not UNSET:
        partial = escape(avis.situationPartielle)
    correction = ""
    tag = "Avis_Sans_Correctif"
    if avis.erreurCorrectif is not UNSET:
        # The upstream breaks the sentence in two lines.
        words = escape(avis.erreurCorrectif).split(" ")
        half = len(words) // 2
        text = " ".join(words[:half]) + "<br />" + " ".join(words[half:])
        correction = f'<div id="erreurCorrectif">{text}\n</div>\n'
        tag = "Avis_Avec_Correctif"
    star = "  (*)" if partial else ""
    title = (
        f"Impôt   {escape(avis.anneeImpots)} sur les revenus de l'année  "
        f"{escape(avis.anneeRevenus)}{star}"
    )
    return (
        _HEAD + "<div id=\"nav_pro\">\n<b>L'administration fiscale certifie l'authenticité du "
        "document présenté pour les données suivantes :</b>\n</div>\n"
        + f'<div class="titre_affiche_avis">\n<span>{title}\n</span>\n</div>\n'
        + "<table>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table>\n"
        + f'<div id="situationPartielle">{partial}\n</div>\n'
        + correction
        + '<div id="boutonsAvis"><a class="nouvelle_recherche" href="/secavis/">'
        "Nouvelle recherche</a></div>\n" + _FOOT.format(tag=tag)
    )


def _declarant_row(css: str, label: str, first: str, second: str) -> str:
    return (
        f'<tr>\n<td class="{css}">{escape(label)}\n</td>\n'
        f'<td class="{css}">{escape(first)}\n</td>\n'
        f'<td class="{css}">{escape(second)}\n</td>\n</tr>'
    )
