"""Customers, contracts and bank statements for the invoice register's tests.

Organisation numbers are fictional with valid check digits (Peppol checks them). Contracts
are made through the repository, as the app makes them; bank statements are camt.053.001.02
documents written after the ISO 20022 schema, as a Norwegian bank sends them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from avtale.repository.models import Contract, ContractVersion, Customer, CustomerBilling
from avtale.repository.service import create_contract, create_customer

ACTOR = "ingrid"

# name, org number, country
NORWAY = ("Fjordkraft Kunde AS", "987 654 325", "NO")
SWEDEN = ("Mälardalen Kund AB", "556677-8899", "SE")
DENMARK = ("Øresund Kunde ApS", "DK 13748136", "DK")
USA = ("Boston Customer Inc.", "04-1234567", "US")


def customer(session: Session, who: tuple[str, str, str], **billing: Any) -> Customer:
    name, org, country = who
    made = create_customer(session, ACTOR, {"name": name, "org_number": org, "country": country})
    if billing:
        session.add(CustomerBilling(customer_id=made.id, **billing))
        session.flush()
    return made


def contract(
    session: Session, buyer: Customer, lines: list[dict[str, Any]], **terms: Any
) -> Contract:
    values = {"start_date": date(2026, 1, 1), "currency": "NOK", "payment_terms_days": 14}
    version: ContractVersion = create_contract(session, ACTOR, buyer, values | terms, lines)
    return version.contract


def monthly(quantity: int = 10, price: str = "100", **more: Any) -> dict[str, Any]:
    return {"product": "Assist licence", "quantity": quantity, "unit_price": price,
            "billing_period": "monthly"} | more  # fmt: skip


def setup_fee(price: str = "5000", **more: Any) -> dict[str, Any]:
    return {"product": "Onboarding", "quantity": 1, "unit_price": price,
            "billing_period": "one_off"} | more  # fmt: skip


@dataclass(frozen=True)
class Transfer:
    """One incoming payment on a statement."""

    amount: str
    bank_reference: str
    kid: str | None = None
    message: str | None = None
    payer: str = "Fjordkraft Kunde AS"
    currency: str = "NOK"
    booked: date = date(2026, 3, 20)


def _transfer(transfer: Transfer) -> str:
    remittance = ""
    if transfer.kid:
        remittance = (
            "<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
            f"<Ref>{transfer.kid}</Ref></CdtrRefInf></Strd></RmtInf>"
        )
    elif transfer.message:
        remittance = f"<RmtInf><Ustrd>{transfer.message}</Ustrd></RmtInf>"
    amount = f'<Amt Ccy="{transfer.currency}">{transfer.amount}</Amt>'
    return f"""
      <Ntry>
        {amount}
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>{transfer.booked.isoformat()}</Dt></BookgDt>
        <ValDt><Dt>{transfer.booked.isoformat()}</Dt></ValDt>
        <AcctSvcrRef>{transfer.bank_reference}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><AcctSvcrRef>{transfer.bank_reference}-1</AcctSvcrRef></Refs>
            <AmtDtls><TxAmt>{amount}</TxAmt></AmtDtls>
            <RltdPties><Dbtr><Nm>{transfer.payer}</Nm></Dbtr></RltdPties>
            {remittance}
          </TxDtls>
        </NtryDtls>
      </Ntry>"""


def camt053(*transfers: Transfer, statement_id: str = "20260320-NO93") -> bytes:
    """A camt.053.001.02 end-of-day statement with ``transfers`` as its entries."""
    total = sum((Decimal(transfer.amount) for transfer in transfers), Decimal(0))
    entries = "".join(_transfer(transfer) for transfer in transfers)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>STMT-{statement_id}</MsgId><CreDtTm>2026-03-20T22:15:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>{statement_id}</Id>
      <CreDtTm>2026-03-20T22:15:00</CreDtTm>
      <Acct><Id><IBAN>NO9386011117947</IBAN></Id><Ccy>NOK</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="NOK">{total}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-20</Dt></Dt></Bal>{entries}
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()
