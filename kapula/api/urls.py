from ninja import NinjaAPI

api = NinjaAPI(title="Kapula API", version="1", urls_namespace="api")
