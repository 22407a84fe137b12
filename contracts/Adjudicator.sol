// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Locks} from "./adjudicator/Locks.sol";
import {TokenCalls} from "./adjudicator/TokenCalls.sol";
import {Validation} from "./adjudicator/Validation.sol";
import {Withdrawals} from "./adjudicator/Withdrawals.sol";
import {Disputes} from "./adjudicator/Disputes.sol";

/**
 * @title Clearline Adjudicator
 * @author Clearline
 * @notice Holds the tokens of two-party, multi-asset state channels and enforces the latest
 * co-signed off-chain state: open, deposit, withdraw without closing (a checkpoint), cooperative
 * close, unilateral close, challenge, settle, hashlocked transfers, and claimable payouts. Every
 * movement of a restricted token between the participants is checked against the token's rules
 * as a transfer between them; a refused movement is held for the token's controller.
 * The canonical encoding of parameters and states is specified in docs/protocol.md.
 * @dev One contract composed of abstract bases, one idea each (contracts/adjudicator/): SignedStates
 * (channel id, EIP-712 digest, signatures), ChannelCustody (opening, deposits, the channel's
 * storage), PayoutDelivery (payouts, claims, held movements), HashlockRegistry (reveals, lock
 * resolution), Withdrawals (checkpoints), Settlement (conclusion) and Disputes (registration,
 * challenge). Internal calls between them are resolved at compile time: the bases cost no gas.
 */
contract Adjudicator is Withdrawals, Disputes {
    /// @notice The most assets a channel may hold.
    uint256 public constant MAX_ASSETS = Validation.MAX_ASSETS;
    /// @notice The most locks a state may carry; checked when a state is withdrawn on or registered.
    uint256 public constant MAX_LOCKS = Locks.MAX_LOCKS;
    /// @notice Longest a settlement waits for a lock after the challenge period: a lock neither revealed
    /// nor expired by then counts as expired (honest locks expire within 30 days of being added).
    uint256 public constant MAX_LOCK_WAIT = Locks.MAX_LOCK_WAIT;
    /// @notice Shortest allowed challenge period, in seconds.
    uint64 public constant MIN_CHALLENGE_PERIOD = Validation.MIN_CHALLENGE_PERIOD;
    /// @notice Longest allowed challenge period, in seconds.
    uint64 public constant MAX_CHALLENGE_PERIOD = Validation.MAX_CHALLENGE_PERIOD;
    /// @notice Gas given to each pushed payout; a token that needs more leaves the amount claimable.
    uint256 public constant PAYOUT_GAS_LIMIT = TokenCalls.PAYOUT_GAS_LIMIT;
    /// @notice Gas given to a restricted token's compliance check; a token that needs more (or fails)
    /// has the movement held with code `CHECK_FAILED`.
    uint256 public constant CHECK_GAS_LIMIT = TokenCalls.CHECK_GAS_LIMIT;
    /// @notice The code of a held movement whose token did not answer the compliance check.
    uint8 public constant CHECK_FAILED = TokenCalls.CHECK_FAILED;
    /// @notice Gas given to the ERC-165 probe made at a token's first deposit into a channel.
    uint256 public constant PROBE_GAS_LIMIT = TokenCalls.PROBE_GAS_LIMIT;

    constructor() EIP712("Clearline Adjudicator", "1") {}
}
