"""Placeholder: replaced by the accounts work (sets request.account)."""


class CurrentAccountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.account = None
        return self.get_response(request)
