"""API tokens: issued for a password plus a one-time code, stored hashed (django-rest-knox),
expiring after API_TOKEN_TTL_HOURS, listed and revoked by their owner (admins revoke any token in
the Django admin)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, user_logged_in
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from knox.settings import knox_settings
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from immigration.api.errors import ApiError
from immigration.api.schema import ERRORS
from immigration.signin import second_factor
from immigration.signin.accounts import token_revoke
from immigration.signin.lockout import locked_out_detail
from immigration.signin.throttles import SharedRateThrottle


class TokenInput(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    otp = serializers.CharField(max_length=16, required=False, allow_blank=True,
                                help_text="The current code from the authenticator app.")


class TokenOutput(serializers.Serializer[Any]):
    token = serializers.CharField()
    expiry = serializers.DateTimeField(allow_null=True)


class TokenRow(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="The token's first characters (not enough to use it).")
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField(allow_null=True)
    current = serializers.BooleanField(help_text="The token this request was made with.")


def _locked_out() -> ApiError:
    return ApiError("locked_out", locked_out_detail(), 429)


class TokenObtainView(APIView):
    """POST username, password and the one-time code; get a token for `Authorization: Token`."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    # Forms too, as DRF's obtain_auth_token (which this replaces) took them.
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    throttle_classes = [SharedRateThrottle]
    throttle_scope = "sign_in"

    @extend_schema(
        operation_id="auth_token_obtain", request=TokenInput,
        responses={200: TokenOutput}, extensions={ERRORS: ["403"]},
        description="400 `invalid_credentials` (wrong username, password or code), "
                    "403 `second_factor_not_enrolled` (sign in on the staff pages first) or "
                    "`too_many_tokens` (revoke one first), "
                    "429 `locked_out` (too many failures: account or client locked for a while) "
                    "or `throttled`.",
    )
    def post(self, request: Request) -> Response:
        form = TokenInput(data=request.data)
        form.is_valid(raise_exception=True)
        username = form.validated_data["username"]
        http_request = request._request  # axes reads and marks the Django request
        user = authenticate(http_request, username=username,
                            password=form.validated_data["password"])
        if getattr(http_request, "axes_locked_out", False):
            raise _locked_out()
        wrong = ApiError("invalid_credentials",
                         _("Wrong username, password or one-time code."), 400)
        if user is None:
            raise wrong
        device = second_factor.confirmed_device(user)
        if device is None:
            raise ApiError("second_factor_not_enrolled",
                           _("Sign in on the staff pages once to set up the one-time code."), 403)
        if not second_factor.code_accepted(device, form.validated_data.get("otp", "")):
            second_factor.report_wrong_code(http_request, username)
            if getattr(http_request, "axes_locked_out", False):
                raise _locked_out()
            raise wrong
        # Expired tokens go; a user holding the maximum must revoke one first (knox's own login
        # view has this rule, which this view replaces).
        AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        limit = knox_settings.TOKEN_LIMIT_PER_USER
        if limit is not None and AuthToken.objects.filter(user=user).count() >= limit:
            raise ApiError("too_many_tokens",
                           _("You hold the maximum number of API tokens; revoke one first."), 403)
        instance, token = AuthToken.objects.create(user=user)
        # Logged as a sign-in (last_login, axes' access log), as a session login is.
        user_logged_in.send(sender=type(user), request=http_request, user=user)
        return Response(TokenOutput({"token": token, "expiry": instance.expiry}).data)


class TokensView(APIView):
    """The caller's own tokens (never their secret part)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="auth_tokens_list",
                   responses={200: TokenRow(many=True)})
    def get(self, request: Request) -> Response:
        current = request.auth.digest if isinstance(request.auth, AuthToken) else None
        rows = [{"id": t.token_key, "created": t.created, "expiry": t.expiry,
                 "current": t.digest == current}
                for t in AuthToken.objects.filter(user=request.user).order_by("-created")]
        return Response(TokenRow(rows, many=True).data)


class TokenRevokeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="auth_token_revoke", request=None,
                   responses={204: None})
    def delete(self, request: Request, token_id: str) -> Response:
        """Revoke one of the caller's own tokens (`id` from the list); 404 for anyone else's."""
        revoked = token_revoke(
            tokens=AuthToken.objects.filter(user=request.user, token_key=token_id[:64]),
            by=request.user)
        if not revoked:
            raise ApiError("not_found", _("You have no token with this id."), 404)
        return Response(status=204)

