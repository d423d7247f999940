"""The signed-in person's own account. /account/password: change the password; every other session
of theirs ends (services/accounts/users.change_password); this one is signed in again with a new id.
/account/mail: which kinds of notification also come by e-mail (services/notifications/mail_prefs);
the in-portal notifications come whatever is chosen here."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from ...domain.errors import ValidationFailed
from ...services.accounts.users import MIN_PASSWORD_LENGTH, change_password
from ...services.notifications import mail_prefs
from ...services.notifications.kinds import NotificationKind
from ...web_sessions import start_signed_in_session
from .access import ANY_USER, allow, web_actor
from .form_fields import entered

bp = Blueprint("account", __name__)

# The kinds a person may get e-mail for, as the settings list them.
MAIL_KINDS = {
    NotificationKind.DEADLINE_REMINDER: _l("Payment deadline reminders"),
    NotificationKind.PAYMENT_RESULT: _l("Payment results"),
    NotificationKind.APPROVAL_WAITING: _l("Payments waiting for my approval"),
    NotificationKind.VOUCHER_REJECTED: _l("Rejected wire vouchers"),
    NotificationKind.STATEMENT_READY: _l("Monthly statements ready"),
}


class MailForm(FlaskForm):
    """The CSRF token; the ticked kinds come as the ``mail`` list (read in the view)."""


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new_password = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=256,
                               message=_l("Use at least %(min)s characters.", min=MIN_PASSWORD_LENGTH))])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("new_password", message=_l("The two new passwords differ."))])


@bp.route("/account/password", methods=["GET", "POST"])
@allow(ANY_USER)
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            user = change_password(web_actor(), current_user.id, entered(form.current_password),
                                   entered(form.new_password))
        except ValidationFailed as exc:
            field = form.current_password if exc.errors and exc.errors[0]["field"] == "current_password" \
                else form.new_password
            field.errors = [_("This is not your current password.") if field is form.current_password
                            else _("Choose a password you have not been using.")]
            return render_template("auth/password.html", form=form), 422
        start_signed_in_session(session.get("lang"))
        login_user(user)
        flash(_("Your password was changed. You were signed out everywhere else."), "success")
        return redirect(url_for("home.index"))
    return render_template("auth/password.html", form=form), 422 if form.errors else 200


@bp.route("/account/mail", methods=["GET", "POST"])
@allow(ANY_USER)
def mail():
    form = MailForm()
    error = None
    if request.method == "POST":
        wanted = request.form.getlist("mail")  # CSRF: checked for every POST (CSRFProtect), 400 without
        if len(wanted) > len(MAIL_KINDS) or any(k not in MAIL_KINDS for k in wanted):
            error = _("Choose only among the kinds listed.")
        else:
            mail_prefs.set_mail_kinds(web_actor(), current_user.id, wanted)
            flash(_("Your e-mail settings were saved."), "success")
            return redirect(url_for("account.mail"), 303)
    out = mail_prefs.opted_out(current_user.id)
    kinds = [{"kind": k.value, "label": label, "on": k.value not in out} for k, label in MAIL_KINDS.items()]
    return render_template("auth/mail.html", form=form, kinds=kinds, error=error,
                           configured=bool(current_app.config.get("SMTP_URL"))), 422 if error else 200
