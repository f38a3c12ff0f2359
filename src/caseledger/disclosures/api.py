from ninja import Router

router = Router(tags=["disclosures"])

# Mounted at /persons next to the people router: GET /persons/{id}/accounting.
persons_router = Router(tags=["disclosures"])
