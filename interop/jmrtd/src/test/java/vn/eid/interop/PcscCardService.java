package vn.eid.interop;

import java.util.ArrayList;
import java.util.List;
import javax.smartcardio.Card;
import javax.smartcardio.CardException;
import javax.smartcardio.CardTerminal;
import net.sf.scuba.smartcards.CardService;
import net.sf.scuba.smartcards.CardServiceException;
import net.sf.scuba.smartcards.CommandAPDU;
import net.sf.scuba.smartcards.ResponseAPDU;

/**
 * The APDU link JMRTD talks through: javax.smartcardio (the JDK's PC/SC client, libpcsclite) to
 * a reader of pcscd. It passes bytes and nothing else; every protocol step is JMRTD's. It keeps
 * the status word of each response so a test can say what the card answered.
 */
final class PcscCardService extends CardService {
  private final CardTerminal terminal;
  private Card card;
  final List<Integer> statusWords = new ArrayList<>();

  PcscCardService(CardTerminal terminal) {
    this.terminal = terminal;
  }

  @Override
  public void open() throws CardServiceException {
    if (card != null) {
      return;
    }
    try {
      card = terminal.connect("*");
    } catch (CardException e) {
      throw new CardServiceException("connect: " + e.getMessage(), e);
    }
  }

  @Override
  public boolean isOpen() {
    return card != null;
  }

  @Override
  public ResponseAPDU transmit(CommandAPDU command) throws CardServiceException {
    if (card == null) {
      throw new CardServiceException("not open");
    }
    try {
      javax.smartcardio.ResponseAPDU r =
          card.getBasicChannel().transmit(new javax.smartcardio.CommandAPDU(command.getBytes()));
      statusWords.add(r.getSW());
      return new ResponseAPDU(r.getBytes());
    } catch (CardException e) {
      throw new CardServiceException("transmit: " + e.getMessage(), e);
    }
  }

  @Override
  public byte[] getATR() throws CardServiceException {
    if (card == null) {
      throw new CardServiceException("not open");
    }
    return card.getATR().getBytes();
  }

  /** Powers the card off (a reset), so its session state is gone, like a card taken away. */
  @Override
  public void close() {
    if (card == null) {
      return;
    }
    try {
      card.disconnect(true);
    } catch (CardException e) {
      // Nothing to do: the next connect powers the card on again.
    }
    card = null;
  }

  @Override
  public boolean isConnectionLost(Exception e) {
    return false;
  }
}
