"""/account/password: a signed-in person changes their own password. Every other session of theirs
ends (services/accounts/users.change_password); this one is signed in again with a new id."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from ...domain.errors import ValidationFailed
from ...services.accounts.users import MIN_PASSWORD_LENGTH, change_password
from ...web_sessions import start_signed_in_session
from .access import ANY_USER, allow, web_actor
from .form_fields import entered

bp = Blueprint("account", __name__)


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
