"""Companies (coligadas) and their branches (filiais): a tenant's master data, loaded from the
ERP and edited locally. See ``docs/companies.md``."""
