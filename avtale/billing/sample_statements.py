"""Bank statements as a Norwegian bank sends them: camt.053.001.02 end-of-day documents
written after the ISO 20022 schema, with incoming transfers quoting a KID or a message.
The demo pays its invoices with one; the register's tests import theirs with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


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


def camt053(
    *transfers: Transfer,
    statement_id: str = "20260320-NO93",
    created: datetime = datetime(2026, 3, 20, 22, 15),
) -> bytes:
    """A camt.053.001.02 end-of-day statement with ``transfers`` as its entries."""
    total = sum((Decimal(transfer.amount) for transfer in transfers), Decimal(0))
    entries = "".join(_transfer(transfer) for transfer in transfers)
    stamp, day = created.isoformat(timespec="seconds"), created.date().isoformat()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>STMT-{statement_id}</MsgId><CreDtTm>{stamp}</CreDtTm></GrpHdr>
    <Stmt>
      <Id>{statement_id}</Id>
      <CreDtTm>{stamp}</CreDtTm>
      <Acct><Id><IBAN>NO9386011117947</IBAN></Id><Ccy>NOK</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="NOK">{total}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>{entries}
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()
